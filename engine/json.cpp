#include "engine/json.h"

#include "engine/detail/json_value.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

namespace tradpal {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Decodes one UTF-8 sequence at text[i]; returns its code point and moves i.
// Malformed bytes decode as U+FFFD, one byte at a time, as Python's
// "replace" error handler would.
std::uint32_t next_code_point(std::string_view text, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int extra = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xe0) == 0xc0) {
    extra = 1;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    extra = 2;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    extra = 3;
    cp = b0 & 0x07;
  } else {
    ++i;
    return 0xfffd;
  }
  if (i + extra >= text.size()) {
    ++i;
    return 0xfffd;
  }
  for (int k = 1; k <= extra; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) {
      ++i;
      return 0xfffd;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  i += extra + 1;
  return cp;
}

std::size_t escaped_size(std::uint32_t cp) noexcept {
  if (cp == '"' || cp == '\\' || cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f') return 2;
  if (cp < 0x20) return 6;
  if (cp <= 0x7f) return 1;  // json.dumps leaves DEL (0x7f) as it is
  if (cp < 0x10000) return 6;
  return 12;  // a surrogate pair
}

char* write_u_escape(std::uint32_t unit, char* out) noexcept {
  *out++ = '\\';
  *out++ = 'u';
  *out++ = kHex[(unit >> 12) & 0xf];
  *out++ = kHex[(unit >> 8) & 0xf];
  *out++ = kHex[(unit >> 4) & 0xf];
  *out++ = kHex[unit & 0xf];
  return out;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// True when `text` is exactly one JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view text) noexcept {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    return i > from;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;  // no leading zeros: "01" is not JSON
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

}  // namespace

std::string_view trim_json(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view json_kernel() noexcept { return TRADPAL_JSON_KERNEL_STRING(SIMDJSON_BUILTIN_IMPLEMENTATION); }

bool detail::is_valid_json_value(simdjson::ondemand::value value, int depth) noexcept {
  // On-Demand validates only what it reads; skipped atoms such as `tru` would
  // pass unnoticed, so every scalar is read here. The depth bound stays
  // under what Python's json.loads accepts (about 990 levels).
  if (depth > kMaxJsonDepth) return false;
  simdjson::ondemand::json_type type;
  if (value.type().get(type)) return false;
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object obj;
      if (value.get_object().get(obj)) return false;
      for (auto field : obj) {
        std::string_view key;
        simdjson::ondemand::value v;
        if (field.unescaped_key().get(key) || field.value().get(v)) return false;
        if (!is_valid_json_value(v, depth + 1)) return false;
      }
      return true;
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array arr;
      if (value.get_array().get(arr)) return false;
      for (auto element : arr) {
        simdjson::ondemand::value v;
        if (element.get(v) || !is_valid_json_value(v, depth + 1)) return false;
      }
      return true;
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view s;
      return !value.get_string().get(s);
    }
    case simdjson::ondemand::json_type::number: {
      // Only the grammar matters here, not the value: checking the token's
      // text is cheaper than converting it, and accepts what simdjson cannot
      // represent but Python reads (integers past 64 bits, as the fixtures
      // carry, or 1e400 as inf). The parent skips the unread token.
      return is_json_number(trim_json(value.raw_json_token()));
    }
    case simdjson::ondemand::json_type::boolean: {
      bool b;
      return !value.get_bool().get(b);
    }
    case simdjson::ondemand::json_type::null: {
      // is_null() answers a simdjson_result<bool>: converting it to bool
      // throws on an atom such as `nul`, so take the error code instead.
      bool is_null = false;
      return !value.is_null().get(is_null) && is_null;
    }
  }
  return false;
}

namespace {

// The document is exactly one valid JSON object, every value read.
bool is_whole_object(simdjson::ondemand::document& doc) noexcept {
  simdjson::ondemand::json_type type;
  if (doc.type().get(type) || type != simdjson::ondemand::json_type::object) return false;
  simdjson::ondemand::value root;
  if (doc.get_value().get(root)) return false;
  if (!detail::is_valid_json_value(root, 0)) return false;
  return fully_consumed(doc);
}

}  // namespace

bool is_json_object(std::string_view text) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(text);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return false;
  return is_whole_object(doc);
}

bool is_json_object_fast(std::string_view text) noexcept {
  // The usual metadata: no parse needed.
  if (trim_json(text) == "{}") return true;
  // Per thread: grows to the largest text checked, never shrinks.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::unique_ptr<char[]> buffer;
  thread_local std::size_t capacity = 0;
  if (text.size() + simdjson::SIMDJSON_PADDING > capacity) {
    const std::size_t want = std::max<std::size_t>(text.size() + simdjson::SIMDJSON_PADDING, 4096);
    std::unique_ptr<char[]> grown(new (std::nothrow) char[want]);
    if (!grown) return false;
    buffer = std::move(grown);
    capacity = want;
  }
  std::memcpy(buffer.get(), text.data(), text.size());
  simdjson::ondemand::document doc;
  // iterate() allocates only when the document outgrows what the parser
  // has; a failure to grow is an error like any other: not valid.
  if (parser.iterate(buffer.get(), text.size(), capacity).get(doc)) return false;
  return is_whole_object(doc);
}

bool has_valid_json(const EventView& view) {
  // One parser per thread: it allocates on its first, largest documents only.
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parse_data(parser, view).get(doc) || !is_whole_object(doc)) return false;
  return !parse_metadata(parser, view).get(doc) && is_whole_object(doc);
}

std::size_t quoted_size(std::string_view text) noexcept {
  std::size_t n = 2;
  for (std::size_t i = 0; i < text.size();) n += escaped_size(next_code_point(text, i));
  return n;
}

char* write_quoted(std::string_view text, char* out) noexcept {
  *out++ = '"';
  for (std::size_t i = 0; i < text.size();) {
    const std::uint32_t cp = next_code_point(text, i);
    switch (cp) {
      case '"': *out++ = '\\'; *out++ = '"'; continue;
      case '\\': *out++ = '\\'; *out++ = '\\'; continue;
      case '\n': *out++ = '\\'; *out++ = 'n'; continue;
      case '\r': *out++ = '\\'; *out++ = 'r'; continue;
      case '\t': *out++ = '\\'; *out++ = 't'; continue;
      case '\b': *out++ = '\\'; *out++ = 'b'; continue;
      case '\f': *out++ = '\\'; *out++ = 'f'; continue;
      default: break;
    }
    if (cp >= 0x20 && cp <= 0x7f) {
      *out++ = static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out = write_u_escape(cp, out);
    } else {
      const std::uint32_t v = cp - 0x10000;
      out = write_u_escape(0xd800 + (v >> 10), out);
      out = write_u_escape(0xdc00 + (v & 0x3ff), out);
    }
  }
  *out++ = '"';
  return out;
}

void append_quoted(std::string& out, std::string_view text) {
  const std::size_t at = out.size();
  out.resize(at + quoted_size(text));
  write_quoted(text, out.data() + at);
}

}  // namespace tradpal
