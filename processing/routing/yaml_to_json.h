// processing/routing/yaml_to_json.h
//
// A YAML document as JSON text, so a rules file may be written in YAML and
// read by the same loader (RuleSet). Mappings become objects (keys must be
// scalars), sequences arrays. A plain scalar is read as YAML 1.2's core
// schema reads it: null (~, null, empty), true/false, an integer or a
// decimal number; anything else, and every quoted scalar, is a string.
// .inf and .nan have no JSON form and are refused. Anchors and aliases are
// resolved by yaml-cpp. Throws RuleError naming the line and column of what
// it cannot read. Any thread.
#pragma once

#include <string>
#include <string_view>

namespace tradpal::routing {

[[nodiscard]] std::string yaml_to_json(std::string_view yaml, const std::string& source);

}  // namespace tradpal::routing
