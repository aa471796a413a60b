// processing/routing/metadata_tags.h
//
// The metadata a routed copy carries: the event's metadata object with the
// matched rules' tags set (a tag replaces a key of the same name; the other
// keys keep their values, minified). Written as Python's json.dumps writes
// (", " and ": "), so the copy reads like any TradPal event. Any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace tradpal::routing {

// Throws std::invalid_argument when `metadata` is not a JSON object.
[[nodiscard]] std::string tagged_metadata(std::string_view metadata,
                                          std::span<const std::pair<std::string, std::string>* const> tags);

}  // namespace tradpal::routing
