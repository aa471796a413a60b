// processing/schema/schema.cpp
#include "processing/schema/schema.h"

#include <string>
#include <utility>

#include "processing/schema/detail/compiler.h"
#include "processing/schema/detail/validator.h"

namespace tradpal::schema {

Schema::Schema(std::shared_ptr<const detail::CompiledSchema> compiled) noexcept : compiled_(std::move(compiled)) {}

Schema Schema::compile(std::string_view schema_json) { return Schema(detail::compile_schema(schema_json)); }

bool Schema::is_valid(simdjson::dom::element instance) const noexcept { return detail::is_valid(*compiled_, instance); }

ValidationResult Schema::validate(simdjson::dom::element instance) const {
  if (detail::is_valid(*compiled_, instance)) return ValidationResult();
  return ValidationResult(detail::first_error(*compiled_, instance));
}

ValidationResult Schema::validate_json(const char* data, std::size_t size, std::size_t capacity,
                                       simdjson::dom::parser& parser) const {
  const bool padded = capacity >= size && capacity - size >= simdjson::SIMDJSON_PADDING;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(data, size, !padded).get(root);
  if (error != simdjson::SUCCESS) {
    return ValidationResult(
        ValidationError{{}, {}, std::string("is not valid JSON: ") + simdjson::error_message(error)});
  }
  return validate(root);
}

}  // namespace tradpal::schema
