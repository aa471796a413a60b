// tools/eventd/schema_check.h
//
// SchemaCheck: eventd's opt-in validation of event payloads against JSON
// Schemas (EVENT_SERVICE_SCHEMAS=<directory of <event_type>.json>, e.g. the
// project's schemas/). A publish whose data fails its type's schema is
// answered 422 in FastAPI's shape, `loc` pointing into the body field the
// data came from:
//   {"detail": [{"loc": ["body", "data", "price"], "msg": "must be > 0",
//                "type": "value_error.jsonschema",
//                "ctx": {"schema_path": "/properties/price/exclusiveMinimum"}}]}
// and nothing is published. A type without a schema passes. Loop thread
// only (one parser).
#pragma once

#include <simdjson.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_type.h"
#include "processing/schema/schema_set.h"
#include "tools/eventd/body_validation.h"

namespace tradpal::eventd {

class SchemaCheck {
 public:
  // Throws ConfigError (config.h) naming the file that cannot be loaded.
  explicit SchemaCheck(const std::filesystem::path& directory);

  // Where the data's fields are in the request body: each path into the
  // data is prefixed with these loc segments (JSON text, e.g. "\"body\",
  // \"data\""). `top_level` names data keys that sit in the body itself
  // (POST /events/market-data's symbol) with their own prefix.
  struct Where {
    std::string_view prefix;
    std::string_view top_level_key;
    std::string_view top_level_prefix;
  };
  // nullopt when the data is valid for `type` (or `type` has no schema).
  [[nodiscard]] std::optional<FieldError> check(EventType type, std::string_view data, const Where& where);

  [[nodiscard]] std::size_t size() const noexcept { return set_.size(); }

 private:
  schema::SchemaSet set_;
  simdjson::dom::parser parser_;
};

}  // namespace tradpal::eventd
