// tests/processing/schema/zero_alloc_test.cpp
//
// Validating a valid instance allocates nothing: is_valid, validate and
// validate_json (padded text, the ring's case, or not), and publishing
// through a Bus whose BusValidator checks it, once warmed up (the parser's
// buffers sized, RE2's DFA states cached). Every global operator new is
// replaced by a counting one, so this is its own executable.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "engine/bus.h"
#include "processing/schema/bus_validator.h"
#include "processing/schema/schema.h"
#include "processing/schema/schema_set.h"
#include "tests/support/counting_allocator.h"

using tradpal::testing::g_allocations;

namespace tradpal::schema {
namespace {

// Uses every family of keywords on the success path.
constexpr std::string_view kSchema = R"({
  "type": "object",
  "required": ["symbol", "price", "side"],
  "properties": {
    "symbol": {"type": "string", "pattern": "^[A-Z0-9./-]{1,20}$", "minLength": 1},
    "price": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.01},
    "volume": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615},
    "side": {"enum": ["buy", "sell"]},
    "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}, "contains": {"const": "live"}},
    "book": {"$ref": "#/definitions/book"}
  },
  "patternProperties": {"^x_": {"type": "string"}},
  "additionalProperties": false,
  "propertyNames": {"maxLength": 16},
  "dependencies": {"volume": ["price"], "book": {"required": ["volume"]}},
  "allOf": [{"minProperties": 3}],
  "anyOf": [{"required": ["volume"]}, {"required": ["tags"]}],
  "oneOf": [{"required": ["side"]}, {"required": ["nothing"]}],
  "not": {"required": ["forbidden"]},
  "if": {"properties": {"side": {"const": "buy"}}}, "then": {"required": ["price"]}, "else": true,
  "definitions": {"book": {"type": "object", "maxProperties": 2,
                           "properties": {"bids": {"items": {"$ref": "#/definitions/level"}}}},
                  "level": {"items": [{"type": "number"}, {"type": "number"}], "additionalItems": false}}
})";

constexpr std::string_view kValid = R"({"symbol": "BTC/USDT", "price": 64123.37, "volume": 12, "side": "buy",
  "tags": ["live", "spot"], "x_venue": "kraken", "book": {"bids": [[64123.3, 1.5], [64123.2, 2]]}})";

TEST(SchemaZeroAlloc, ValidInstancesAllocateNothingOnceWarm) {
  const Schema schema = Schema::compile(kSchema);
  simdjson::dom::parser parser;
  std::string padded(kValid);
  padded.resize(kValid.size() + simdjson::SIMDJSON_PADDING, ' ');
  simdjson::dom::element instance;
  ASSERT_EQ(parser.parse(padded.data(), kValid.size(), false).get(instance), simdjson::SUCCESS);
  ASSERT_TRUE(schema.validate(instance).ok()) << schema.validate(instance).error().to_string();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(schema.validate_json(padded.data(), kValid.size(), padded.size(), parser).ok());
    ASSERT_TRUE(schema.validate_json(kValid, parser).ok());
  }
  ASSERT_EQ(parser.parse(padded.data(), kValid.size(), false).get(instance), simdjson::SUCCESS);

  const std::uint64_t before = g_allocations.load();
  bool all_valid = true;
  for (int i = 0; i < 1000; ++i) {
    all_valid &= schema.is_valid(instance);
    all_valid &= schema.validate(instance).ok();
  }
  for (int i = 0; i < 1000; ++i) {
    all_valid &= schema.validate_json(padded.data(), kValid.size(), padded.size(), parser).ok();
    // Unpadded text is copied into the parser's buffer, which has grown.
    all_valid &= schema.validate_json(kValid, parser).ok();
  }
  const std::uint64_t allocations = g_allocations.load() - before;
  EXPECT_TRUE(all_valid);
  EXPECT_EQ(allocations, 0U);
}

TEST(SchemaZeroAlloc, InvalidInstancesAllocateOnlyForTheReport) {
  const Schema schema = Schema::compile(kSchema);
  simdjson::dom::parser parser;
  const std::string bad = R"({"symbol": "btc", "price": 1, "side": "buy", "volume": 1})";
  ASSERT_FALSE(schema.validate_json(bad, parser).ok());
  simdjson::dom::element instance;
  ASSERT_EQ(parser.parse(bad).get(instance), simdjson::SUCCESS);
  const std::uint64_t before = g_allocations.load();
  EXPECT_FALSE(schema.is_valid(instance));
  EXPECT_EQ(g_allocations.load() - before, 0U) << "the yes-or-no walk never allocates";
  EXPECT_EQ(schema.validate(instance).error().pointer(), "/symbol");
}

TEST(SchemaZeroAlloc, BusValidatorPublishesValidEventsWithoutAllocating) {
  SchemaSet set;
  set.add("market_data_update", Schema::compile(kSchema));
  const BusValidator validator(set);
  Bus bus({.validator = &validator});
  Subscription sub = bus.subscribe();
  std::uint64_t delivered = 0;
  const auto handler = [&](const EventView&, bool) { ++delivered; };
  // kValid without its symbol: publish_market_data puts it first.
  constexpr std::string_view kFields = R"({"price": 64123.37, "volume": 12, "side": "buy",
    "tags": ["live", "spot"], "x_venue": "kraken", "book": {"bids": [[64123.3, 1.5], [64123.2, 2]]}})";
  constexpr std::string_view kInvalid = R"({"symbol": "btc", "price": 1, "side": "buy", "volume": 1})";
  bool all_as_expected = true;
  const auto one_round = [&] {
    all_as_expected &= bus.try_publish({.type = EventType::market_data_update, .data = kValid}) == PublishStatus::ok;
    all_as_expected &= bus.publish_market_data<NoWait>("BTC/USDT", kFields) == PublishStatus::ok;
    // Types without a schema, and a refusal nobody asked to have described:
    // the yes-or-no walk, no allocation either.
    all_as_expected &= bus.try_publish({.type = EventType::trading_signal, .data = kValid}) == PublishStatus::ok;
    all_as_expected &=
        bus.try_publish({.type = EventType::market_data_update, .data = kInvalid}) == PublishStatus::invalid;
    while (sub.poll(handler) != 0) {
    }
  };
  for (int i = 0; i < 10; ++i) one_round();
  ASSERT_TRUE(all_as_expected);

  const std::uint64_t before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) one_round();
  const std::uint64_t allocations = g_allocations.load() - before;
  EXPECT_TRUE(all_as_expected);
  EXPECT_EQ(allocations, 0U);
  EXPECT_EQ(delivered, 3U * 1010U);
}

}  // namespace
}  // namespace tradpal::schema
