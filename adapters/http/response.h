// adapters/http/response.h
//
// Response: status, headers and body of one answer, plus the helpers for
// JSON answers and FastAPI-shaped errors (`{"detail": "text"}`). A plain value
// any thread may build; the server adds Content-Length, Connection and CORS
// fields when it writes it, so handlers set only what is theirs.
#pragma once

#include <string>
#include <string_view>

#include "adapters/http/headers.h"

namespace tradpal::http {

struct Response {
  int status = 200;
  HeaderList headers;
  std::string body;

  // `body` must already be JSON text; Content-Type is application/json.
  [[nodiscard]] static Response json(int status, std::string body);

  // FastAPI's error shape: {"detail":"<detail, JSON-escaped>"}.
  [[nodiscard]] static Response error(int status, std::string_view detail);

  [[nodiscard]] static Response text(int status, std::string body,
                                     std::string content_type = "text/plain; charset=utf-8");

  Response& set_header(std::string name, std::string value);
};

// `s` as a JSON string literal, quotes included, as Python's json.dumps
// writes it: control characters and every non-ASCII code point as \uXXXX,
// bytes that are not valid UTF-8 as \ufffd. Always valid JSON, pure ASCII.
[[nodiscard]] std::string json_quote(std::string_view s);

// The reason phrase of `status` ("Not Found"), or "Unknown" for codes that
// have none registered.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace tradpal::http
