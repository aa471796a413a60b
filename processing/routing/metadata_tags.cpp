#include "processing/routing/metadata_tags.h"

#include <simdjson.h>

#include <algorithm>
#include <stdexcept>

#include "engine/json.h"

namespace tradpal::routing {

std::string tagged_metadata(std::string_view metadata,
                            std::span<const std::pair<std::string, std::string>* const> tags) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(metadata.data(), metadata.size()).get_object().get(obj) != simdjson::SUCCESS) {
    throw std::invalid_argument("metadata is not a JSON object");
  }
  std::string out = "{";
  bool first = true;
  auto member = [&](std::string_view key, std::string_view json) {
    if (!first) out += ", ";
    first = false;
    append_quoted(out, key);
    out += ": ";
    out += json;
  };
  for (auto [key, value] : obj) {
    const std::string_view name = key;  // (clang 14 cannot capture a structured binding)
    if (std::any_of(tags.begin(), tags.end(), [&](const auto* t) { return t->first == name; })) continue;
    member(key, simdjson::minify(value));
  }
  for (const auto* t : tags) member(t->first, t->second);
  out += '}';
  return out;
}

}  // namespace tradpal::routing
