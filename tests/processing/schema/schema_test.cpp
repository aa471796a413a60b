// tests/processing/schema/schema_test.cpp
//
// Schema beyond the official suite: what a failure reports (instance path,
// pointer, keyword, message), what is refused at load and where, numbers
// at the edges of 64 bits, JSON equality, recursive refs, raw-text
// validation, and several threads sharing one Schema.
#include "processing/schema/schema.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace tradpal::schema {
namespace {

// Validates `instance_json` against `schema_json` with a fresh parser.
ValidationResult check(const Schema& schema, std::string_view instance_json) {
  simdjson::dom::parser parser;
  return schema.validate_json(instance_json, parser);
}

bool valid(std::string_view schema_json, std::string_view instance_json) {
  return check(Schema::compile(schema_json), instance_json).ok();
}

// The SchemaError that compiling `schema_json` throws.
SchemaError refusal(std::string_view schema_json) {
  try {
    (void)Schema::compile(schema_json);
  } catch (const SchemaError& e) {
    return e;
  }
  ADD_FAILURE() << "compiled, but should be refused: " << schema_json;
  return SchemaError("", "");
}

// --- failure reports -------------------------------------------------------

TEST(SchemaErrorReport, NamesTheInstancePathOfTheFirstFailure) {
  const Schema schema = Schema::compile(R"({"properties": {"a": {"items": {"properties": {"b": {"minimum": 0}}}}}})");
  const ValidationResult result = check(schema, R"({"a": [{"b": 1}, {"b": -1}]})");
  ASSERT_FALSE(result.ok());
  const ValidationError& e = result.error();
  ASSERT_EQ(e.instance_path.size(), 3U);
  EXPECT_EQ(std::get<std::string>(e.instance_path[0]), "a");
  EXPECT_EQ(std::get<std::uint64_t>(e.instance_path[1]), 1U);
  EXPECT_EQ(std::get<std::string>(e.instance_path[2]), "b");
  EXPECT_EQ(e.pointer(), "/a/1/b");
  EXPECT_EQ(e.schema_path, "/properties/a/items/properties/b/minimum");
  EXPECT_EQ(e.message, "must be >= 0");
  EXPECT_EQ(e.to_string(), "/a/1/b: must be >= 0");
}

TEST(SchemaErrorReport, MissingRequiredPropertyIsReportedAtItsName) {
  const Schema schema = Schema::compile(R"({"type": "object", "required": ["symbol", "price"]})");
  const ValidationResult result = check(schema, R"({"price": 1})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().pointer(), "/symbol");
  EXPECT_EQ(result.error().message, "required property 'symbol' is missing");
  EXPECT_EQ(result.error().schema_path, "/required");
}

TEST(SchemaErrorReport, MessagesNameTheConstraint) {
  const auto message = [](std::string_view schema_json, std::string_view instance_json) {
    const ValidationResult result = check(Schema::compile(schema_json), instance_json);
    return result.ok() ? std::string("(valid)") : result.error().message;
  };
  EXPECT_EQ(message(R"({"type": "integer"})", "1.5"), "must be of type integer");
  EXPECT_EQ(message(R"({"type": ["string", "null"]})", "1"), "must be of type null or string");
  EXPECT_EQ(message(R"({"enum": ["buy", "sell"]})", R"("hold")"), "is not one of the allowed values");
  EXPECT_EQ(message(R"({"const": 3})", "4"), "must be equal to the constant");
  EXPECT_EQ(message(R"({"exclusiveMinimum": 0})", "0"), "must be > 0");
  EXPECT_EQ(message(R"({"maximum": 2.5})", "3"), "must be <= 2.5");
  EXPECT_EQ(message(R"({"exclusiveMaximum": 10})", "10"), "must be < 10");
  EXPECT_EQ(message(R"({"multipleOf": 0.01})", "0.001"), "must be a multiple of 0.01");
  EXPECT_EQ(message(R"({"minLength": 2})", R"("é")"), "must have at least 2 characters");
  EXPECT_EQ(message(R"({"maxLength": 1})", R"("ab")"), "must have at most 1 characters");
  EXPECT_EQ(message(R"({"pattern": "^[A-Z]+$"})", R"("abc")"), "must match pattern '^[A-Z]+$'");
  EXPECT_EQ(message(R"({"minItems": 1})", "[]"), "must have at least 1 items");
  EXPECT_EQ(message(R"({"uniqueItems": true})", "[1, 2, 1.0]"),
            "must not contain duplicate items (items 0 and 2 are equal)");
  EXPECT_EQ(message(R"({"contains": {"const": 1}})", "[2]"), "must contain an item valid against 'contains'");
  EXPECT_EQ(message(R"({"maxProperties": 0})", R"({"a": 1})"), "must have at most 0 properties");
  EXPECT_EQ(message(R"({"anyOf": [{"type": "string"}, {"minimum": 5}]})", "1"),
            "must be valid against at least one schema in 'anyOf'");
  EXPECT_EQ(message(R"({"oneOf": [{"minimum": 0}, {"maximum": 10}]})", "5"),
            "must be valid against exactly one schema in 'oneOf', but is valid against schemas 0 and 1");
  EXPECT_EQ(message(R"({"oneOf": [{"minimum": 10}, {"maximum": 0}]})", "5"),
            "must be valid against exactly one schema in 'oneOf', but is valid against none");
  EXPECT_EQ(message(R"({"not": {"type": "null"}})", "null"), "must not be valid against the schema in 'not'");
  EXPECT_EQ(message("false", "1"), "no value is allowed here (the schema is false)");
  EXPECT_EQ(message(R"({"dependencies": {"bid": ["ask"]}})", R"({"bid": 1})"),
            "property 'ask' is required when 'bid' is present");
}

TEST(SchemaErrorReport, AdditionalPropertyIsNamedAndLocated) {
  const Schema schema = Schema::compile(R"({"properties": {"a": {}}, "additionalProperties": false})");
  const ValidationResult result = check(schema, R"({"a": 1, "b/c~": 2})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "additional property 'b/c~' is not allowed");
  EXPECT_EQ(result.error().pointer(), "/b~1c~0");
  EXPECT_EQ(result.error().schema_path, "/additionalProperties");
}

TEST(SchemaErrorReport, AdditionalItemIsLocatedByIndex) {
  const Schema schema = Schema::compile(R"({"items": [{"type": "string"}], "additionalItems": false})");
  const ValidationResult result = check(schema, R"(["a", "b"])");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().pointer(), "/1");
  EXPECT_EQ(result.error().schema_path, "/additionalItems");
}

TEST(SchemaErrorReport, AllOfAndThenReportTheInnerFailure) {
  const Schema schema = Schema::compile(
      R"({"allOf": [{"type": "object"}, {"properties": {"side": {"enum": ["buy", "sell"]}}}],
          "if": {"required": ["limit"]}, "then": {"properties": {"limit": {"exclusiveMinimum": 0}}}})");
  ValidationResult result = check(schema, R"({"side": "hold"})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().pointer(), "/side");
  EXPECT_EQ(result.error().schema_path, "/allOf/1/properties/side/enum");
  result = check(schema, R"({"side": "buy", "limit": -1})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().pointer(), "/limit");
  EXPECT_EQ(result.error().schema_path, "/then/properties/limit/exclusiveMinimum");
}

TEST(SchemaErrorReport, PropertyNamesFailureIsAtTheKey) {
  const Schema schema = Schema::compile(R"({"propertyNames": {"pattern": "^[a-z_]+$"}})");
  EXPECT_TRUE(check(schema, R"({"bid_size": 1})").ok());
  const ValidationResult result = check(schema, R"({"ok": 1, "BadKey": 2})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().pointer(), "/BadKey");
  EXPECT_EQ(result.error().message, "property name 'BadKey' is not valid against 'propertyNames'");
}

TEST(SchemaErrorReport, TextThatIsNotJsonFailsAtTheRoot) {
  const ValidationResult result = check(Schema::compile("{}"), R"({"a": )");
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().instance_path.empty());
  EXPECT_EQ(result.error().message.rfind("is not valid JSON", 0), 0U) << result.error().message;
}

TEST(SchemaValidateJson, ParsesPaddedTextInPlace) {
  const Schema schema = Schema::compile(R"({"required": ["a"]})");
  std::string buffer = R"({"a": 1})";
  const std::size_t size = buffer.size();
  buffer.resize(size + simdjson::SIMDJSON_PADDING, ' ');
  simdjson::dom::parser parser;
  EXPECT_TRUE(schema.validate_json(buffer.data(), size, buffer.size(), parser).ok());
  buffer.replace(2, 1, "b");
  EXPECT_FALSE(schema.validate_json(buffer.data(), size, buffer.size(), parser).ok());
}

// --- refusal at load -------------------------------------------------------

TEST(SchemaCompile, RefusesUnknownKeywordsWithTheirPath) {
  const SchemaError e = refusal(R"({"properties": {"price": {"minimun": 0}}})");
  EXPECT_EQ(e.schema_path(), "/properties/price/minimun");
  EXPECT_NE(std::string(e.what()).find("unknown or unsupported keyword 'minimun'"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("#/properties/price/minimun"), std::string::npos) << e.what();
  // Later drafts' keywords are not draft-07's: refused, not ignored.
  EXPECT_EQ(refusal(R"({"unevaluatedProperties": false})").schema_path(), "/unevaluatedProperties");
  EXPECT_EQ(refusal(R"({"items": [{"$defs": {}}]})").schema_path(), "/items/0/$defs");
}

TEST(SchemaCompile, RefusesRegexesRe2CannotRunWithTheirPath) {
  EXPECT_EQ(refusal(R"j({"pattern": "^(?=a)"})j").schema_path(), "/pattern");
  const SchemaError e = refusal(R"({"patternProperties": {"^(a)\\1$": {}}})");
  EXPECT_EQ(e.schema_path(), "/patternProperties/^(a)\\1$");
  EXPECT_NE(e.reason().find("backreferences"), std::string::npos) << e.reason();
  EXPECT_EQ(refusal(R"({"properties": {"x": {"pattern": "(?<!a)b"}}})").schema_path(), "/properties/x/pattern");
  EXPECT_EQ(refusal(R"({"pattern": "a(b"})").schema_path(), "/pattern");
  EXPECT_EQ(refusal(R"({"pattern": "\\a"})").schema_path(), "/pattern");
}

TEST(SchemaCompile, RefusesKeywordValuesOfTheWrongType) {
  EXPECT_EQ(refusal("[]").schema_path(), "");
  EXPECT_EQ(refusal(R"({"minLength": -1})").schema_path(), "/minLength");
  EXPECT_EQ(refusal(R"({"minLength": 1.5})").schema_path(), "/minLength");
  EXPECT_EQ(refusal(R"({"maximum": "10"})").schema_path(), "/maximum");
  EXPECT_EQ(refusal(R"({"multipleOf": 0})").schema_path(), "/multipleOf");
  EXPECT_EQ(refusal(R"({"type": "float"})").schema_path(), "/type");
  EXPECT_EQ(refusal(R"({"required": "a"})").schema_path(), "/required");
  EXPECT_EQ(refusal(R"({"required": ["a", "a"]})").schema_path(), "/required");
  EXPECT_EQ(refusal(R"({"properties": {"a": 1}})").schema_path(), "/properties/a");
  EXPECT_EQ(refusal(R"({"allOf": []})").schema_path(), "/allOf");
  EXPECT_EQ(refusal(R"({"items": []})").schema_path(), "/items");
  EXPECT_EQ(refusal(R"({"enum": {}})").schema_path(), "/enum");
  EXPECT_EQ(refusal(R"({"dependencies": {"a": [1]}})").schema_path(), "/dependencies/a");
  EXPECT_EQ(refusal(R"({"title": 1})").schema_path(), "/title");
  EXPECT_EQ(refusal(R"({"uniqueItems": 1})").schema_path(), "/uniqueItems");
  EXPECT_EQ(refusal(R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})").schema_path(), "/$schema");
  EXPECT_NO_THROW((void)Schema::compile(R"({"minLength": 2.0, "$schema": "http://json-schema.org/draft-07/schema#"})"));
}

TEST(SchemaCompile, RefusesInvalidJson) {
  const SchemaError e = refusal(R"({"type": )");
  EXPECT_EQ(e.schema_path(), "");
  EXPECT_NE(e.reason().find("not valid JSON"), std::string::npos);
}

TEST(SchemaCompile, RefusesReferencesOutsideTheDocument) {
  EXPECT_EQ(refusal(R"({"$ref": "other.json#/a"})").schema_path(), "/$ref");
  EXPECT_EQ(refusal(R"({"$ref": "http://example.com/s.json"})").schema_path(), "/$ref");
  EXPECT_EQ(refusal(R"({"$ref": "#foo"})").schema_path(), "/$ref");
  EXPECT_EQ(refusal(R"({"properties": {"a": {"$ref": "#/definitions/missing"}}})").schema_path(), "/properties/a/$ref");
  EXPECT_EQ(refusal(R"({"definitions": {"a": {"$id": "a.json"}}})").schema_path(), "/definitions/a/$id");
}

TEST(SchemaCompile, RefusesRefCyclesThatNeverDescend) {
  (void)refusal(R"({"$ref": "#"})");
  (void)refusal(R"({"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"allOf": [{"$ref": "#/definitions/a"}]}},
                    "$ref": "#/definitions/a"})");
  // Through a property the recursion descends, so it ends.
  EXPECT_NO_THROW((void)Schema::compile(R"({"properties": {"next": {"$ref": "#"}}})"));
}

TEST(SchemaCompile, AcceptsAnnotationsAndFormatWithoutAsserting) {
  const Schema schema = Schema::compile(
      R"({"title": "t", "description": "d", "$comment": "c", "default": 1, "examples": [1],
          "readOnly": true, "writeOnly": false, "format": "date-time",
          "contentMediaType": "application/json", "contentEncoding": "base64"})");
  EXPECT_TRUE(check(schema, R"("not a date")").ok());
}

// --- references --------------------------------------------------------------

TEST(SchemaRef, RecursiveRefValidatesATreeOfAnyDepth) {
  const Schema schema = Schema::compile(R"({
    "$ref": "#/definitions/node",
    "definitions": {
      "node": {"type": "object", "required": ["value"],
               "properties": {"value": {"type": "number"},
                              "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}}})");
  std::string deep = R"({"value": 0})";
  for (int i = 1; i < 200; ++i) deep = R"({"value": )" + std::to_string(i) + R"(, "children": [)" + deep + "]}";
  EXPECT_TRUE(check(schema, deep).ok());
  const ValidationResult result =
      check(schema, R"({"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": "x"}]}]})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().pointer(), "/children/1/children/0/value");
  EXPECT_EQ(result.error().schema_path, "/definitions/node/properties/value/type");
}

TEST(SchemaRef, PointerEscapesAndPercentEncodingResolve) {
  const Schema schema = Schema::compile(R"({
    "definitions": {"tilda~field": {"type": "integer"}, "slash/field": {"type": "string"},
                    "percent%field": {"type": "boolean"}},
    "properties": {"tilda": {"$ref": "#/definitions/tilda~0field"},
                   "slash": {"$ref": "#/definitions/slash~1field"},
                   "percent": {"$ref": "#/definitions/percent%25field"}}})");
  EXPECT_TRUE(check(schema, R"({"tilda": 1, "slash": "s", "percent": true})").ok());
  EXPECT_FALSE(check(schema, R"({"tilda": "1"})").ok());
  EXPECT_FALSE(check(schema, R"({"slash": 1})").ok());
  EXPECT_FALSE(check(schema, R"({"percent": 1})").ok());
}

TEST(SchemaRef, RefThroughTheRootIdAndIntoArrays) {
  const Schema schema = Schema::compile(R"({
    "$id": "http://example.com/tick.json",
    "items": [{"type": "integer"}, {"$ref": "http://example.com/tick.json#/items/0"}],
    "additionalItems": {"$ref": "#/items/1"}})");
  EXPECT_TRUE(check(schema, "[1, 2, 3]").ok());
  EXPECT_FALSE(check(schema, R"([1, 2, "3"])").ok());
}

TEST(SchemaRef, SiblingsOfRefAreIgnoredAsDraft07Says) {
  const Schema schema = Schema::compile(R"({"definitions": {"a": {"type": "array"}},
                                            "properties": {"x": {"$ref": "#/definitions/a", "maxItems": 1}}})");
  EXPECT_TRUE(check(schema, R"({"x": [1, 2, 3]})").ok());
}

// --- numbers and equality ---------------------------------------------------

TEST(SchemaNumbers, SixtyFourBitIntegersCompareExactly) {
  EXPECT_TRUE(valid(R"({"maximum": 18446744073709551615})", "18446744073709551615"));
  EXPECT_FALSE(valid(R"({"maximum": 18446744073709551614})", "18446744073709551615"));
  EXPECT_TRUE(valid(R"({"minimum": -9223372036854775808})", "-9223372036854775808"));
  EXPECT_FALSE(valid(R"({"minimum": -9223372036854775807})", "-9223372036854775808"));
  EXPECT_FALSE(valid(R"({"exclusiveMinimum": 9223372036854775807})", "9223372036854775807"));
  EXPECT_TRUE(valid(R"({"exclusiveMinimum": 9223372036854775807})", "9223372036854775808"));
  // 2^64 - 1 is below the double 2^64 even though it rounds to it.
  EXPECT_TRUE(valid(R"({"exclusiveMaximum": 1.8446744073709552e19})", "18446744073709551615"));
  EXPECT_FALSE(valid(R"({"maximum": -1})", "9223372036854775808"));
  EXPECT_TRUE(valid(R"({"maximum": 0.5})", "-9223372036854775808"));
  // Equal as doubles, different as integers.
  EXPECT_FALSE(valid(R"({"const": 9007199254740993})", "9007199254740992"));
  EXPECT_TRUE(valid(R"({"const": 9007199254740993})", "9007199254740993"));
  EXPECT_TRUE(valid(R"({"type": "integer"})", "18446744073709551615"));
  EXPECT_TRUE(valid(R"({"type": "integer"})", "-9223372036854775808"));
}

TEST(SchemaNumbers, IntegerTypeAcceptsIntegralFloats) {
  EXPECT_TRUE(valid(R"({"type": "integer"})", "1.0"));
  EXPECT_TRUE(valid(R"({"type": "integer"})", "1e3"));
  EXPECT_FALSE(valid(R"({"type": "integer"})", "1.5"));
  EXPECT_FALSE(valid(R"({"type": "integer"})", "\"1\""));
}

TEST(SchemaNumbers, MultipleOfToleratesBinaryFractionsOnly) {
  EXPECT_TRUE(valid(R"({"multipleOf": 0.0001})", "0.0075"));
  EXPECT_FALSE(valid(R"({"multipleOf": 0.0001})", "0.00751"));
  EXPECT_TRUE(valid(R"({"multipleOf": 0.01})", "19.99"));
  EXPECT_FALSE(valid(R"({"multipleOf": 0.01})", "1e-20"));
  EXPECT_TRUE(valid(R"({"multipleOf": 0.5})", "1e308"));
  EXPECT_FALSE(valid(R"({"type": "integer", "multipleOf": 0.123456789})", "1e308"));
  EXPECT_TRUE(valid(R"({"multipleOf": 5})", "18446744073709551615"));
  EXPECT_FALSE(valid(R"({"multipleOf": 2})", "18446744073709551615"));
  EXPECT_TRUE(valid(R"({"multipleOf": 2})", "-9223372036854775808"));
  EXPECT_TRUE(valid(R"({"multipleOf": 2})", "4.0"));
}

TEST(SchemaEquality, IsJsonEqualityNotTextEquality) {
  EXPECT_TRUE(valid(R"({"enum": [{"a": 1, "b": [1, 2.0]}]})", R"({"b": [1.0, 2], "a": 1.0})"));
  EXPECT_FALSE(valid(R"({"enum": [{"a": 1}]})", R"({"a": 1, "b": 2})"));
  EXPECT_FALSE(valid(R"({"const": 1})", "true"));
  EXPECT_FALSE(valid(R"({"const": [1]})", "[1, 1]"));
  EXPECT_TRUE(valid(R"({"uniqueItems": true})", R"([1, true, "1", [1], {"1": 1}, null, 0, false])"));
  EXPECT_FALSE(valid(R"({"uniqueItems": true})", R"([{"a": 1, "b": 2}, {"b": 2, "a": 1.0}])"));
}

TEST(SchemaStrings, LengthsCountCodePoints) {
  EXPECT_TRUE(valid(R"({"maxLength": 1})", "\"\xF0\x9F\x98\x80\""));  // one emoji, four bytes
  EXPECT_TRUE(valid(R"({"minLength": 2, "maxLength": 2})", "\"\xC3\xA9\xE2\x82\xAC\""));
  EXPECT_FALSE(valid(R"({"minLength": 3})", "\"\xC3\xA9\xE2\x82\xAC\""));
}

// --- sharing -------------------------------------------------------------------

TEST(SchemaThreads, ManyThreadsValidateWithOneSchema) {
  const Schema schema = Schema::compile(
      R"({"type": "object", "required": ["symbol", "price"],
          "properties": {"symbol": {"pattern": "^[A-Z]{3,6}$"}, "price": {"exclusiveMinimum": 0}},
          "patternProperties": {"^x_": {"type": "string"}}, "additionalProperties": false})");
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      simdjson::dom::parser parser;
      for (int i = 0; i < kRounds; ++i) {
        const bool good = (i + t) % 3 != 0;
        const std::string json = good ? R"({"symbol": "EURUSD", "price": 1.08, "x_venue": "LMAX"})"
                                      : R"({"symbol": "eurusd", "price": 1.08})";
        const ValidationResult result = schema.validate_json(json, parser);
        if (result.ok() != good || (!good && result.error().pointer() != "/symbol")) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SchemaThreads, CopiesShareTheCompiledSchema) {
  std::vector<Schema> copies(3, Schema::compile(R"({"type": "string"})"));
  Schema moved = std::move(copies.back());
  copies.pop_back();
  EXPECT_TRUE(check(moved, R"("a")").ok());
  EXPECT_FALSE(check(copies.front(), "1").ok());
}

}  // namespace
}  // namespace tradpal::schema
