#include "adapters/http/request.h"

namespace tradpal::http {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string_view> Request::query(std::string_view key) const noexcept {
  std::optional<std::string_view> found;
  for (const auto& [k, v] : query_params) {
    if (k == key) found = std::string_view(v);
  }
  return found;
}

std::vector<std::string_view> Request::query_all(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& [k, v] : query_params) {
    if (k == key) values.emplace_back(v);
  }
  return values;
}

std::string percent_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

void parse_query(std::string_view query, QueryParams& out) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view segment = query.substr(0, amp);
    if (!segment.empty()) {
      const std::size_t eq = segment.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(percent_decode(segment, true), std::string());
      } else {
        out.emplace_back(percent_decode(segment.substr(0, eq), true),
                         percent_decode(segment.substr(eq + 1), true));
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace tradpal::http
