// processing/schema/detail/ecma_regex.h
//
// Translates an ECMA-262 regular expression, the dialect JSON Schema's
// `pattern` and `patternProperties` use, into RE2 syntax with the same
// meaning on UTF-8 text, or says why it cannot. Any thread; pure function.
// Patterns are read as with ECMA's `u` flag: they match code points, not
// UTF-16 units, so "^.$" matches one emoji and \u{1F600} is allowed.
//
// What differs and how it is bridged:
//   .          any code point but \n \r U+2028 U+2029 (RE2: all but \n)
//   \s \S      ECMA's whitespace: Unicode spaces, U+FEFF, line terminators
//              (RE2: ASCII only), written out as explicit ranges
//   [\b]       backspace;  [^] any code point;  [] nothing
//   [ inside a class is a literal (RE2 would read [[:alpha:]])
//   \cX \xHH \uHHHH \u{H...}  code points; \uD83D\uDE00 surrogate pairs join
//   \0         NUL;  (?<name>...)  becomes RE2's (?P<name>...)
// Kept as they are: \d \w \b \B (ASCII in both), classes, quantifiers
// (RE2 caps counts at 1000); \p{...} loses a "Script=" or "gc=" prefix and
// RE2 decides which names it knows (scripts, one- and two-letter categories).
// Refused: lookahead and lookbehind, backreferences (\1, \k<name>), which
// RE2's linear-time engine cannot run, and escapes ECMA's Unicode mode
// rejects (\a, \z, \Q...): refused rather than guessed at.
#pragma once

#include <string>
#include <string_view>

namespace tradpal::schema::detail {

struct RegexTranslation {
  std::string re2;    // the RE2 pattern, when error is empty
  std::string error;  // why the pattern cannot be used
};

[[nodiscard]] RegexTranslation translate_ecma_regex(std::string_view ecma);

}  // namespace tradpal::schema::detail
