// processing/routing/rule_set.h
//
// RuleSet: the routing rules of one rules file, compiled. A file is JSON
// (or the same tree in YAML, for a file named *.yaml or *.yml):
//
//   {"rules": [
//     {"name": "large_orders",                       required, unique, [A-Za-z0-9_.-]+
//      "description": "...",                         optional, for people
//      "when": {"all": [{"field": "type", "eq": "order_executed"},
//                       {"field": "data.quantity", "gte": 100}]},
//                                                    optional: absent matches every event
//      "copy_to": ["tradpal_large_orders"],          a stream name or a list of them
//      "tag": {"desk": "block", "routed": true}}     metadata keys set on the copies
//   ]}
//
// A rule has at least one action (copy_to, tag). An event's copies carry the
// tags of every rule it matched (a later rule's value wins for the same
// key): a rule with only `tag` adds metadata to the copies other rules make.
// Anything not understood — an unknown key, operator, field or event type,
// a bad regex, a duplicate name — refuses the whole file with a RuleError
// naming the place; the last good rules stay in force where a reload is
// refused (tradpal-router's SIGHUP).
//
// Immutable once loaded; any thread may match with it (RuleMatcher).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "processing/routing/condition.h"

namespace tradpal::routing {

struct Rule {
  std::string name;
  std::string description;
  std::optional<Condition> when;  // none: every event
  std::vector<std::string> copy_to;
  // key, value as minified JSON
  std::vector<std::pair<std::string, std::string>> tags;
};

class RuleSet {
 public:
  // Throws RuleError; `source` names the document in messages.
  [[nodiscard]] static RuleSet parse(std::string_view json, const std::string& source = {});
  // Throws RuleError (with the file name) also when the file cannot be
  // read. A *.yaml / *.yml file is read as YAML (see yaml_to_json.h).
  [[nodiscard]] static RuleSet load_file(const std::filesystem::path& path);

  [[nodiscard]] const std::vector<Rule>& rules() const noexcept { return rules_; }
  [[nodiscard]] std::size_t size() const noexcept { return rules_.size(); }
  // The index of the rule with this name, or size().
  [[nodiscard]] std::size_t find(std::string_view name) const noexcept;
  // Every stream some rule copies to, each once, in first-mention order.
  [[nodiscard]] const std::vector<std::string>& targets() const noexcept { return targets_; }

 private:
  std::vector<Rule> rules_;
  std::vector<std::string> targets_;
};

}  // namespace tradpal::routing
