// tools/eventd/body_validation.h
//
// JsonBody: a request body checked the way FastAPI (pydantic 1) checks a body
// model, so clients get the same 422 shapes the Python service gave:
//   {"detail": [{"loc": ["body", "event_type"], "msg": "field required",
//                "type": "value_error.missing"}, ...]}
// The whole document is validated with simdjson first (invalid JSON anywhere
// is a 422, as json.loads would refuse it); then each field the endpoint
// declares is read and typed, every problem collected, none thrown. Loop
// thread only (one parser per thread).
#pragma once

#include <simdjson.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tradpal::eventd {

// One entry of FastAPI's validation detail. `loc` is JSON text, e.g.
// ["query","limit"].
struct FieldError {
  std::string loc;
  std::string msg;
  std::string type;
  std::string ctx;  // JSON object text or empty
};

// {"detail":[...]} for a 422 answer.
[[nodiscard]] std::string validation_detail(const std::vector<FieldError>& errors);

class JsonBody {
 public:
  // Parses `body`; returns false (with the error recorded) when it is not
  // valid JSON or not an object.
  bool parse(std::string_view body, std::vector<FieldError>& errors);

  // A string field. Absent: `fallback` (no fallback: "field required").
  // Present with another JSON type (null included): "str type expected".
  [[nodiscard]] std::optional<std::string> string_field(std::string_view key, std::optional<std::string_view> fallback,
                                                        std::vector<FieldError>& errors) const;
  // An object field as its raw JSON text, valid while this JsonBody lives.
  [[nodiscard]] std::optional<std::string_view> object_field(std::string_view key,
                                                             std::optional<std::string_view> fallback,
                                                             std::vector<FieldError>& errors) const;

 private:
  struct Field {
    simdjson::ondemand::json_type type;
    std::string text;  // unescaped for strings, raw JSON for objects
  };
  simdjson::padded_string padded_;
  std::map<std::string, Field, std::less<>> fields_;
};

}  // namespace tradpal::eventd
