// adapters/http/request.h
//
// Request: one parsed HTTP request as a handler sees it: method, decoded path,
// query parameters (percent-decoded, repeated keys kept in order), headers
// (case-insensitive lookup) and the whole body (chunked bodies already
// decoded). A plain value: the handler owns its copy and may keep or move it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/http/headers.h"

namespace tradpal::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;   // as sent, e.g. "GET"
  std::string target;   // the raw request-target, e.g. "/events?limit=5"
  std::string path;     // percent-decoded path without the query
  QueryParams query_params;
  HeaderList headers;
  std::string body;
  unsigned http_major = 1;
  unsigned http_minor = 1;

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    return find_header(headers, name);
  }

  // The last value given for `key`, which is what Starlette (hence FastAPI)
  // hands a scalar query parameter; nullopt when the key is absent.
  [[nodiscard]] std::optional<std::string_view> query(std::string_view key) const noexcept;

  // Every value given for `key`, in request order (`?t=a&t=b` gives a, b).
  [[nodiscard]] std::vector<std::string_view> query_all(std::string_view key) const;
};

// Percent-decodes `in`. Malformed escapes (`%zz`, a trailing `%`) are kept
// literally, as Python's urllib.parse.unquote does. With plus_as_space, `+`
// decodes to a space (query strings, application/x-www-form-urlencoded).
[[nodiscard]] std::string percent_decode(std::string_view in, bool plus_as_space);

// Splits a query string (`a=1&b=&c`) into decoded pairs, appending to `out`.
// A key without `=` gets an empty value; empty segments are skipped.
void parse_query(std::string_view query, QueryParams& out);

}  // namespace tradpal::http
