#include "engine/json.h"

#include <gtest/gtest.h>

#include <string>

namespace tradpal {
namespace {

std::string quoted(std::string_view s) {
  std::string out;
  append_quoted(out, s);
  EXPECT_EQ(out.size(), quoted_size(s));
  return out;
}

TEST(Json, QuotesLikePythonJsonDumps) {
  EXPECT_EQ(quoted("BTC/USDT"), R"("BTC/USDT")");
  EXPECT_EQ(quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(quoted("line\nnext\ttab\r\b\f"), R"("line\nnext\ttab\r\b\f")");
  EXPECT_EQ(quoted(std::string_view("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(quoted("caf\xc3\xa9 \xe2\x82\xac"), R"("caf\u00e9 \u20ac")");
  EXPECT_EQ(quoted("\xf0\x9f\x9a\x80"), R"("\ud83d\ude80")");  // U+1F680 as a surrogate pair
  EXPECT_EQ(quoted("\x7f"), "\"\x7f\"");
  EXPECT_EQ(quoted("\xff"), R"("\ufffd")");  // invalid UTF-8 is replaced, never copied raw
}

TEST(Json, ObjectCheckReadsEveryValue) {
  EXPECT_TRUE(is_json_object("{}"));
  EXPECT_TRUE(is_json_object(R"( {"a": [1, 2.5e-3, null, true, {"b": "c"}]} )"));
  EXPECT_TRUE(is_json_object(R"({"big": 12345678901234567890123})"));
  EXPECT_FALSE(is_json_object("[]"));
  EXPECT_FALSE(is_json_object(R"("text")"));
  EXPECT_FALSE(is_json_object(R"({"a": tru})"));
  EXPECT_FALSE(is_json_object(R"({"a": 1} {"b": 2})"));
  EXPECT_FALSE(is_json_object(R"({"a": 1)"));
  EXPECT_FALSE(is_json_object(R"({"a": 01x})"));
  EXPECT_FALSE(is_json_object("{not json"));
  EXPECT_FALSE(is_json_object(""));
}

TEST(Json, ShapeCheckIsCheap) {
  EXPECT_TRUE(looks_like_object(" {\"a\": 1}\n"));
  EXPECT_FALSE(looks_like_object("[1]"));
  EXPECT_FALSE(looks_like_object(""));
  EXPECT_EQ(trim_json(" \t\n{}\r "), "{}");
}

}  // namespace
}  // namespace tradpal
