#include "adapters/http/detail/answer_bytes.h"

#include <cstdio>

#include "adapters/http/headers.h"

namespace tradpal::http::detail {

std::string answer_head(const Exchange& exchange, const Response& response, bool streaming) {
  std::string head;
  head.reserve(256 + response.body.size());
  head += exchange.http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  head += reason_phrase(response.status);
  head += "\r\n";
  for (const auto& [field, value] : response.headers) {
    if (iequals(field, "Content-Length") || iequals(field, "Transfer-Encoding") ||
        iequals(field, "Connection")) {
      continue;
    }
    head += field;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (streaming) {
    if (exchange.chunked) head += "Transfer-Encoding: chunked\r\n";
  } else if (response.status >= 200 && response.status != 204 && response.status != 304) {
    head += "Content-Length: ";
    head += std::to_string(response.body.size());
    head += "\r\n";
  }
  if (!exchange.keep_alive) {
    head += "Connection: close\r\n";
  } else if (exchange.http10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

void append_chunk(std::string& out, std::string_view bytes) {
  char size[2 * sizeof(std::size_t) + 1];
  const int len = std::snprintf(size, sizeof size, "%zx", bytes.size());
  out.append(size, static_cast<std::size_t>(len));
  out += "\r\n";
  out += bytes;
  out += "\r\n";
}

}  // namespace tradpal::http::detail
