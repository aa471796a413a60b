// tests/processing/schema/ecma_regex_test.cpp
//
// `pattern` follows ECMA-262 on UTF-8 text although RE2 runs it: each case
// here is a place where the two dialects differ (see
// processing/schema/detail/ecma_regex.h), checked through Schema.
#include "processing/schema/detail/ecma_regex.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "processing/schema/schema.h"

namespace tradpal::schema {
namespace {

// Whether the JSON string `instance` (already JSON-quoted) matches `pattern`
// (JSON-escaped, as it would appear in a schema file).
bool matches(const std::string& pattern, const std::string& instance) {
  const Schema schema = Schema::compile(R"({"pattern": ")" + pattern + R"("})");
  simdjson::dom::parser parser;
  return schema.validate_json(instance, parser).ok();
}

std::string translation_error(std::string_view ecma) { return detail::translate_ecma_regex(ecma).error; }

TEST(EcmaRegex, SearchIsUnanchored) {
  EXPECT_TRUE(matches("a+", R"("xxaayy")"));
  EXPECT_FALSE(matches("^a+$", R"("xxaayy")"));
}

TEST(EcmaRegex, DigitAndWordClassesAreAscii) {
  EXPECT_TRUE(matches("^\\\\d+$", R"("0123456789")"));
  EXPECT_FALSE(matches("^\\\\d$", R"("\u0661")"));  // ARABIC-INDIC DIGIT ONE
  EXPECT_TRUE(matches("^\\\\w+$", R"("a_Z9")"));
  EXPECT_FALSE(matches("^\\\\w$", R"("\u00e9")"));
  EXPECT_TRUE(matches("^\\\\W$", R"("\u00e9")"));
  EXPECT_TRUE(matches("\\\\bfoo\\\\b", R"("a foo b")"));
}

TEST(EcmaRegex, WhitespaceClassIsEcmas) {
  for (const char* space :
       {R"("\t")", R"("\u000b")", R"("\u00a0")", R"("\u2003")", R"("\u2028")", R"("\ufeff")", R"("\u3000")"}) {
    EXPECT_TRUE(matches("^\\\\s$", space)) << space;
    EXPECT_FALSE(matches("^\\\\S$", space)) << space;
    EXPECT_TRUE(matches("^[\\\\s]$", space)) << space;
    EXPECT_FALSE(matches("^[\\\\Sx]$", space)) << space;
  }
  EXPECT_FALSE(matches("^\\\\s$", R"("\u200b")"));  // ZERO WIDTH SPACE is no whitespace
  EXPECT_TRUE(matches("^\\\\S$", R"("\u200b")"));
  EXPECT_TRUE(matches("^[\\\\S]$", R"("\ud83d\ude00")"));
}

TEST(EcmaRegex, DotStopsAtEveryLineTerminatorAndTakesWholeCodePoints) {
  EXPECT_TRUE(matches("^.$", R"("\ud83d\ude00")"));
  EXPECT_TRUE(matches("^.$", R"("\u00e9")"));
  for (const char* terminator : {R"("\n")", R"("\r")", R"("\u2028")", R"("\u2029")"}) {
    EXPECT_FALSE(matches("^.$", terminator)) << terminator;
  }
  EXPECT_TRUE(matches("^[^]$", R"("\n")"));
  EXPECT_FALSE(matches("[]", R"("anything")"));
  EXPECT_FALSE(matches("a[]b", R"("ab")"));
  EXPECT_TRUE(matches("a[]*b", R"("ab")"));  // a quantifier applies to the whole empty class
}

TEST(EcmaRegex, EscapesBecomeCodePoints) {
  EXPECT_TRUE(matches("^\\\\cJ$", R"("\n")"));
  EXPECT_TRUE(matches("^\\\\x41$", R"("A")"));
  EXPECT_TRUE(matches("^\\\\u00e9$", R"("\u00e9")"));
  EXPECT_TRUE(matches("^\\\\uD83D\\\\uDE00$", R"("\ud83d\ude00")"));
  EXPECT_TRUE(matches("^\\\\u{1F600}$", R"("\ud83d\ude00")"));
  EXPECT_TRUE(matches("^[\\\\b]$", R"("\b")"));
  EXPECT_TRUE(matches("^a\\\\0b$", R"("a\u0000b")"));
  EXPECT_TRUE(matches("^\\\\/\\\\.$", R"("/.")"));
  EXPECT_TRUE(matches("^[\\u00e0-\\u00ff]+$", R"("\u00e9\u00e8")"));
}

TEST(EcmaRegex, UnicodePropertiesUseRe2Names) {
  EXPECT_TRUE(matches("^\\\\p{Script=Greek}+$", R"("\u03b1\u03b2")"));
  EXPECT_FALSE(matches("^\\\\p{sc=Greek}$", R"("a")"));
  EXPECT_TRUE(matches("^\\\\p{gc=Lu}\\\\P{Lu}$", R"("Ab")"));
  EXPECT_TRUE(matches("^\\\\p{L}$", R"("\u00e9")"));
}

TEST(EcmaRegex, BracketInsideAClassIsALiteral) {
  // ECMA reads [[:alpha:]] as the class {[ : a l p h} followed by "]".
  EXPECT_TRUE(matches("^[[:alpha:]]$", R"("a]")"));
  EXPECT_FALSE(matches("^[[:alpha:]]$", R"("b")"));
}

TEST(EcmaRegex, NamedGroupsAndLazyQuantifiersWork) {
  EXPECT_TRUE(matches("^(?<year>\\\\d{4})-(?:\\\\d{2})$", R"("2024-05")"));
  EXPECT_TRUE(matches("^a+?b{2,3}$", R"("aabbb")"));
  EXPECT_FALSE(matches("^a{2}$", R"("aaa")"));
}

TEST(EcmaRegex, RefusesWhatRe2CannotRun) {
  EXPECT_NE(translation_error("(?=a)"), "");
  EXPECT_NE(translation_error("(?!a)"), "");
  EXPECT_NE(translation_error("(?<=a)b"), "");
  EXPECT_NE(translation_error("(?<!a)b"), "");
  EXPECT_NE(translation_error("(a)\\1"), "");
  EXPECT_NE(translation_error("(?<x>a)\\k<x>"), "");
  EXPECT_NE(translation_error("\\01"), "");
  EXPECT_NE(translation_error("\\uD800"), "");
  EXPECT_NE(translation_error("\\c1"), "");
  EXPECT_NE(translation_error("\\Z"), "");  // .NET's anchor, not ECMA's
  EXPECT_NE(translation_error("[a"), "");
  EXPECT_NE(translation_error("a\\"), "");
  EXPECT_NE(translation_error("(?i)a"), "");
  EXPECT_EQ(translation_error("^[A-Z0-9./-]{1,20}$"), "");
}

}  // namespace
}  // namespace tradpal::schema
