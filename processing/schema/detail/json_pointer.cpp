// processing/schema/detail/json_pointer.cpp
#include "processing/schema/detail/json_pointer.h"

namespace tradpal::schema::detail {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

}  // namespace

void append_pointer_token(std::string& out, std::string_view token) {
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
}

std::optional<std::vector<std::string>> parse_fragment_pointer(std::string_view fragment) {
  const std::optional<std::string> decoded = percent_decode(fragment);
  if (!decoded) return std::nullopt;
  std::vector<std::string> tokens;
  if (decoded->empty()) return tokens;
  if ((*decoded)[0] != '/') return std::nullopt;
  std::string token;
  for (std::size_t i = 1; i <= decoded->size(); ++i) {
    if (i == decoded->size() || (*decoded)[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    const char c = (*decoded)[i];
    if (c != '~') {
      token += c;
      continue;
    }
    if (i + 1 >= decoded->size()) return std::nullopt;
    const char next = (*decoded)[++i];
    if (next == '0') {
      token += '~';
    } else if (next == '1') {
      token += '/';
    } else {
      return std::nullopt;
    }
  }
  return tokens;
}

}  // namespace tradpal::schema::detail
