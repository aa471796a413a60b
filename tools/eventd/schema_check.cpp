#include "tools/eventd/schema_check.h"

#include <variant>

#include "adapters/http/json_writer.h"
#include "tools/eventd/config.h"

namespace tradpal::eventd {

SchemaCheck::SchemaCheck(const std::filesystem::path& directory) {
  try {
    set_ = schema::SchemaSet::load_directory(directory);
  } catch (const std::exception& e) {
    throw ConfigError("EVENT_SERVICE_SCHEMAS: " + std::string(e.what()));
  }
  if (set_.size() == 0) throw ConfigError("EVENT_SERVICE_SCHEMAS: no <event_type>.json in " + directory.string());
}

std::optional<FieldError> SchemaCheck::check(EventType type, std::string_view data, const Where& where) {
  const schema::Schema* s = set_.find(to_string(type));
  if (s == nullptr) return std::nullopt;
  const schema::ValidationResult r = s->validate_json(data, parser_);
  if (r.ok()) return std::nullopt;
  const schema::ValidationError& e = r.error();
  std::string loc = "[";
  const bool top = !where.top_level_key.empty() && !e.instance_path.empty() &&
                   std::holds_alternative<std::string>(e.instance_path.front()) &&
                   std::get<std::string>(e.instance_path.front()) == where.top_level_key;
  loc += top ? where.top_level_prefix : where.prefix;
  for (const schema::PathSegment& seg : e.instance_path) {
    loc += ',';
    if (const auto* key = std::get_if<std::string>(&seg)) {
      http::JsonWriter w;
      w.string(*key);
      loc += w.str();
    } else {
      loc += std::to_string(std::get<std::uint64_t>(seg));
    }
  }
  loc += ']';
  http::JsonWriter ctx;
  ctx.begin_object().key("schema_path").string(e.schema_path).end_object();
  return FieldError{std::move(loc), e.message, "value_error.jsonschema", ctx.str()};
}

}  // namespace tradpal::eventd
