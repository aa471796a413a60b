#include "adapters/http/response.h"

#include <http_parser.h>

#include "engine/json.h"

namespace tradpal::http {

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::error(int status, std::string_view detail) {
  std::string body = "{\"detail\":";
  body += json_quote(detail);
  body += '}';
  return json(status, std::move(body));
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Response& Response::set_header(std::string name, std::string value) {
  for (auto& [field, v] : headers) {
    if (iequals(field, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string json_quote(std::string_view s) {
  // The engine's quoting is Python's json.dumps: ASCII out, so bytes that
  // are not UTF-8 (a client's, echoed in an error) become \ufffd, never raw.
  std::string out;
  append_quoted(out, s);
  return out;
}

std::string_view reason_phrase(int status) noexcept {
  // http_parser's table answers "<unknown>" for codes it does not know.
  const char* phrase = http_status_str(static_cast<enum http_status>(status));
  if (phrase == nullptr || phrase[0] == '<') return "Unknown";
  return phrase;
}

}  // namespace tradpal::http
