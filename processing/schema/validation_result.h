// processing/schema/validation_result.h
//
// ValidationResult: the verdict of Schema::validate, either ok or the first
// failure found. A failure carries the instance location as segments (a
// string for an object key, an integer for an array index), so an HTTP layer
// can build FastAPI's `loc` from it, the same location as a JSON Pointer, the
// keyword in the schema that failed, and a message for people. A valid
// result holds nothing and costs no allocation. Plain values: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tradpal::schema {

// A key of an object (string) or an index into an array (integer).
using PathSegment = std::variant<std::string, std::uint64_t>;

struct ValidationError {
  // Where in the instance validation failed; empty means the root. For a
  // missing required (or dependent) property the last segment is the
  // missing key, as FastAPI's `loc` names it, although no value is there.
  std::vector<PathSegment> instance_path;
  // The failing keyword as a JSON Pointer into the schema document, e.g.
  // "/properties/price/exclusiveMinimum"; empty when the instance is not JSON.
  std::string schema_path;
  // For people, without the location: "must be > 0".
  std::string message;

  // instance_path as an RFC 6901 JSON Pointer: "" for the root, "/a/0/b".
  [[nodiscard]] std::string pointer() const;
  // "<pointer or '(root)'>: <message>", for logs.
  [[nodiscard]] std::string to_string() const;
};

class ValidationResult {
 public:
  ValidationResult() noexcept = default;
  explicit ValidationResult(ValidationError error) : error_(std::move(error)) {}

  [[nodiscard]] bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  // Only when !ok().
  [[nodiscard]] const ValidationError& error() const { return error_.value(); }

 private:
  std::optional<ValidationError> error_;
};

}  // namespace tradpal::schema
