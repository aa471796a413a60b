// processing/schema/detail/ecma_regex.cpp
#include "processing/schema/detail/ecma_regex.h"

#include <cstdint>
#include <cstdio>

namespace tradpal::schema::detail {
namespace {

// ECMA-262 WhiteSpace and LineTerminator code points, as class contents.
constexpr std::string_view kSpaceRanges =
    "\\x{9}-\\x{d}\\x{20}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}"
    "\\x{202f}\\x{205f}\\x{3000}\\x{feff}";
// Their complement over all code points, so that \S also works inside a
// class, where RE2 has no way to negate a part.
constexpr std::string_view kNonSpaceRanges =
    "\\x{0}-\\x{8}\\x{e}-\\x{1f}\\x{21}-\\x{9f}\\x{a1}-\\x{167f}\\x{1681}-\\x{1fff}"
    "\\x{200b}-\\x{2027}\\x{202a}-\\x{202e}\\x{2030}-\\x{205e}\\x{2060}-\\x{2fff}"
    "\\x{3001}-\\x{fefe}\\x{ff00}-\\x{10ffff}";
constexpr std::string_view kDot = "[^\\n\\r\\x{2028}\\x{2029}]";
constexpr std::string_view kAnything = "[\\x{0}-\\x{10ffff}]";
// An empty class matches nothing; \b\B can hold at no position.
constexpr std::string_view kNothing = "(?:\\b\\B)";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ascii_alnum(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

class Translator {
 public:
  explicit Translator(std::string_view source) : s_(source) {}

  RegexTranslation run() {
    while (i_ < s_.size() && error_.empty()) {
      if (in_class_) {
        class_char();
      } else {
        outside_char();
      }
    }
    if (error_.empty() && in_class_) error_ = "unterminated character class";
    if (!error_.empty()) return {{}, error_};
    return {std::move(out_), {}};
  }

 private:
  void outside_char() {
    const char c = s_[i_];
    switch (c) {
      case '\\':
        escape(false);
        return;
      case '.':
        out_ += kDot;
        ++i_;
        return;
      case '[':
        open_class();
        return;
      case '(':
        group();
        return;
      default:
        out_ += c;
        ++i_;
        return;
    }
  }

  void open_class() {
    ++i_;
    const bool negated = i_ < s_.size() && s_[i_] == '^';
    if (negated) ++i_;
    if (i_ < s_.size() && s_[i_] == ']') {
      // ECMA closes a class at its first ']', so [] and [^] are complete.
      out_ += negated ? kAnything : kNothing;
      ++i_;
      return;
    }
    out_ += negated ? "[^" : "[";
    in_class_ = true;
  }

  void class_char() {
    const char c = s_[i_];
    switch (c) {
      case ']':
        out_ += ']';
        in_class_ = false;
        ++i_;
        return;
      case '\\':
        escape(true);
        return;
      case '[':
        out_ += "\\[";
        ++i_;
        return;
      default:
        out_ += c;
        ++i_;
        return;
    }
  }

  void group() {
    if (i_ + 1 >= s_.size() || s_[i_ + 1] != '?') {
      out_ += '(';
      ++i_;
      return;
    }
    const std::string_view rest = s_.substr(i_);
    if (rest.starts_with("(?:")) {
      out_ += "(?:";
      i_ += 3;
    } else if (rest.starts_with("(?=") || rest.starts_with("(?!")) {
      error_ = "lookahead assertions are not supported (RE2 has none)";
    } else if (rest.starts_with("(?<=") || rest.starts_with("(?<!")) {
      error_ = "lookbehind assertions are not supported (RE2 has none)";
    } else if (rest.starts_with("(?<")) {
      out_ += "(?P<";
      i_ += 3;
    } else {
      error_ = "invalid group: '(?' must be followed by ':', '=', '!' or '<'";
    }
  }

  void code_point(std::uint32_t cp) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "\\x{%x}", static_cast<unsigned>(cp));
    out_ += buffer;
  }

  // Reads `count` hex digits at i_; -1 when they are not all there.
  long hex_digits(std::size_t count) {
    if (i_ + count > s_.size()) return -1;
    long value = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const int digit = hex_value(s_[i_ + k]);
      if (digit < 0) return -1;
      value = value * 16 + digit;
    }
    i_ += count;
    return value;
  }

  // After "\u": {H...} or HHHH, joining a surrogate pair written as two escapes.
  void unicode_escape() {
    if (i_ < s_.size() && s_[i_] == '{') {
      ++i_;
      std::uint32_t cp = 0;
      std::size_t digits = 0;
      while (i_ < s_.size() && s_[i_] != '}') {
        const int digit = hex_value(s_[i_]);
        if (digit < 0 || cp > 0x10FFFF) break;
        cp = cp * 16 + static_cast<std::uint32_t>(digit);
        ++digits;
        ++i_;
      }
      if (i_ >= s_.size() || s_[i_] != '}' || digits == 0 || cp > 0x10FFFF) {
        error_ = "invalid \\u{...} escape";
        return;
      }
      ++i_;
      if (cp >= 0xD800 && cp <= 0xDFFF) {
        error_ = "a lone surrogate cannot match UTF-8 text";
        return;
      }
      code_point(cp);
      return;
    }
    const long unit = hex_digits(4);
    if (unit < 0) {
      error_ = "invalid \\u escape: four hex digits expected";
      return;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF && s_.substr(i_).starts_with("\\u")) {
      i_ += 2;
      const long low = hex_digits(4);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        code_point(0x10000U + ((static_cast<std::uint32_t>(unit) - 0xD800U) << 10U) +
                   (static_cast<std::uint32_t>(low) - 0xDC00U));
        return;
      }
      error_ = "a lone surrogate cannot match UTF-8 text";
      return;
    }
    if (unit >= 0xD800 && unit <= 0xDFFF) {
      error_ = "a lone surrogate cannot match UTF-8 text";
      return;
    }
    code_point(static_cast<std::uint32_t>(unit));
  }

  void escape(bool in_class) {
    ++i_;
    if (i_ >= s_.size()) {
      error_ = "the pattern ends with a lone backslash";
      return;
    }
    const char e = s_[i_++];
    switch (e) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 't':
      case 'n':
      case 'v':
      case 'f':
      case 'r':
        out_ += '\\';
        out_ += e;
        return;
      case 'b':
        out_ += in_class ? "\\x{8}" : "\\b";
        return;
      case 'B':
        if (in_class) {
          error_ = "\\B is not allowed in a character class";
          return;
        }
        out_ += "\\B";
        return;
      case 's':
        if (!in_class) out_ += '[';
        out_ += kSpaceRanges;
        if (!in_class) out_ += ']';
        return;
      case 'S':
        if (!in_class) out_ += '[';
        out_ += kNonSpaceRanges;
        if (!in_class) out_ += ']';
        return;
      case '0':
        if (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
          error_ = "octal escapes are not supported";
          return;
        }
        out_ += "\\x{0}";
        return;
      case 'c': {
        const char letter = i_ < s_.size() ? s_[i_] : '\0';
        if (!((letter >= 'a' && letter <= 'z') || (letter >= 'A' && letter <= 'Z'))) {
          error_ = "\\c must be followed by a letter";
          return;
        }
        ++i_;
        code_point(static_cast<std::uint32_t>(letter) % 32U);
        return;
      }
      case 'x': {
        const long value = hex_digits(2);
        if (value < 0) {
          error_ = "invalid \\x escape: two hex digits expected";
          return;
        }
        code_point(static_cast<std::uint32_t>(value));
        return;
      }
      case 'u':
        unicode_escape();
        return;
      case 'p':
      case 'P': {
        const std::size_t close = s_.find('}', i_);
        if (i_ >= s_.size() || s_[i_] != '{' || close == std::string_view::npos) {
          error_ = "\\p and \\P need a {property}";
          return;
        }
        // ECMA names a script or category as "Script=Greek" or "gc=Lu";
        // RE2 takes the bare value.
        std::string_view name = s_.substr(i_ + 1, close - i_ - 1);
        for (const std::string_view prefix : {"Script=", "sc=", "General_Category=", "gc="}) {
          if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
        }
        out_ += '\\';
        out_ += e;
        out_ += '{';
        out_ += name;
        out_ += '}';
        i_ = close + 1;
        return;
      }
      case 'k':
        error_ = "backreferences (\\k<name>) are not supported by RE2";
        return;
      default:
        break;
    }
    if (e >= '1' && e <= '9') {
      error_ = "backreferences (\\1 to \\9) are not supported by RE2";
      return;
    }
    if (is_ascii_alnum(e) || e == '_') {
      error_ = std::string("unknown escape \\") + e;
      return;
    }
    if (static_cast<unsigned char>(e) >= 0x80) {
      // An escaped non-ASCII character is that character.
      --i_;
      return;
    }
    // ASCII punctuation escapes itself, in ECMA as in RE2.
    out_ += '\\';
    out_ += e;
  }

  std::string_view s_;
  std::size_t i_ = 0;
  bool in_class_ = false;
  std::string out_;
  std::string error_;
};

}  // namespace

RegexTranslation translate_ecma_regex(std::string_view ecma) { return Translator(ecma).run(); }

}  // namespace tradpal::schema::detail
