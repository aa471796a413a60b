// processing/schema/schema.h
//
// Schema: a JSON Schema (draft-07) compiled once, then applied to any
// number of JSON values in place (simdjson DOM elements, or raw text parsed
// with the caller's parser). A compiled Schema is immutable: copies share
// it, and any number of threads may validate with one Schema at once.
// compile() throws SchemaError; validation never throws except bad_alloc
// while describing a failure. A valid instance costs no allocation (see
// "Cost" below).
//
//   const auto schema = tradpal::schema::Schema::compile(R"({"type": "object",
//       "required": ["symbol"], "properties": {"price": {"exclusiveMinimum": 0}}})");
//   simdjson::dom::parser parser;  // one per thread, reused
//   const auto result = schema.validate_json(view.data().data(), view.data().size(),
//                                            view.data_capacity(), parser);
//   if (!result) reply_422(result.error().instance_path, result.error().message);
//
// Scope. Supported, as draft-07 defines them: type, enum, const,
// multipleOf, maximum, exclusiveMaximum, minimum, exclusiveMinimum,
// maxLength, minLength (code points), pattern, items, additionalItems,
// maxItems, minItems, uniqueItems, contains, maxProperties, minProperties,
// required, properties, patternProperties, additionalProperties,
// dependencies, propertyNames, if/then/else, allOf, anyOf, oneOf, not,
// boolean schemas, definitions, and `$ref` to a JSON Pointer within the
// same document ("#", "#/definitions/a~1b", percent-encoded or not, or
// the root's own `$id` followed by such a fragment), recursive refs
// included. As draft-07 says, `$ref` makes its siblings ignored (they are
// still checked at load).
// Accepted and ignored (annotations): title, description, default,
// examples, $comment, readOnly, writeOnly, contentMediaType,
// contentEncoding, and format (draft-07 makes format assertions optional;
// none are made here); $schema if it names draft-07; $id at the root only.
// Refused at load, with the JSON Pointer of the place: any other keyword;
// $id in a subschema; refs to other documents, relative URIs or plain-name
// fragments; ref cycles that never descend into the instance
// ({"$ref": "#"} at the root); regexes RE2 cannot run (lookaround,
// backreferences; see detail/ecma_regex.h for the ECMA-262 translation);
// keyword values of the wrong type. Integers beyond 64 bits cannot be read
// by simdjson: such a schema is refused, such an instance is invalid JSON.
//
// Cost. validate() first walks without reporting (no allocation: strings
// and keys are borrowed, objects are searched in place, regexes match with
// RE2's cached DFA), and only on failure walks again to build the error.
// uniqueItems and object equality are quadratic in the item count.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "processing/schema/schema_error.h"
#include "processing/schema/validation_result.h"

namespace tradpal::schema {

namespace detail {
struct CompiledSchema;
}  // namespace detail

// Copies are cheap and share the compiled tree; a moved-from Schema may
// only be assigned to or destroyed.
class Schema {
 public:
  // Parses and compiles `schema_json`; throws SchemaError.
  [[nodiscard]] static Schema compile(std::string_view schema_json);

  // Yes or no, allocation-free. The element's document must outlive the call.
  [[nodiscard]] bool is_valid(simdjson::dom::element instance) const noexcept;

  // Ok, or the first failure found.
  [[nodiscard]] ValidationResult validate(simdjson::dom::element instance) const;

  // Parses `size` bytes of JSON at `data` with `parser` and validates them.
  // When `capacity` >= size + simdjson::SIMDJSON_PADDING (a ring frame
  // leaves that padding readable) the text is parsed in place; otherwise
  // simdjson copies it into the parser's own padded buffer (a memcpy; an
  // allocation only when that buffer must grow). Text that is not JSON is
  // a failure at the root ("is not valid JSON: ..."). The parser is the
  // caller's, one per thread, and its document is overwritten.
  [[nodiscard]] ValidationResult validate_json(const char* data, std::size_t size, std::size_t capacity,
                                               simdjson::dom::parser& parser) const;
  [[nodiscard]] ValidationResult validate_json(std::string_view text, simdjson::dom::parser& parser) const {
    return validate_json(text.data(), text.size(), text.size(), parser);
  }

 private:
  explicit Schema(std::shared_ptr<const detail::CompiledSchema> compiled) noexcept;

  std::shared_ptr<const detail::CompiledSchema> compiled_;
};

}  // namespace tradpal::schema
