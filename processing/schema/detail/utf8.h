// processing/schema/detail/utf8.h
//
// Code point count of UTF-8 text, for minLength/maxLength, which count
// characters, not bytes ("é" is 1, "😀" is 1). The text is valid UTF-8:
// simdjson validates every string it parses. Internal; pure, any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace tradpal::schema::detail {

[[nodiscard]] inline std::size_t code_point_count(std::string_view text) noexcept {
  std::size_t count = 0;
  // Every code point has exactly one byte that is not a continuation byte
  // (10xxxxxx): count those.
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  return count;
}

}  // namespace tradpal::schema::detail
