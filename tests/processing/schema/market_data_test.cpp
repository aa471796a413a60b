// tests/processing/schema/market_data_test.cpp
//
// A realistic case: the data of a market_data_update event, as a trading
// process publishes it, checked against the schema an HTTP edge would hold
// for it. Valid ticks pass; each kind of bad tick is refused with the
// location and message a client would see.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "processing/schema/schema.h"

namespace tradpal::schema {
namespace {

constexpr std::string_view kMarketDataSchema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "market_data_update data",
  "type": "object",
  "required": ["symbol", "price", "volume", "timestamp"],
  "properties": {
    "symbol": {"type": "string", "pattern": "^[A-Z0-9./-]{1,20}$"},
    "price": {"type": "number", "exclusiveMinimum": 0},
    "volume": {"type": "integer", "minimum": 0},
    "bid": {"type": "number", "exclusiveMinimum": 0},
    "ask": {"type": "number", "exclusiveMinimum": 0},
    "timestamp": {"type": "string", "format": "date-time", "minLength": 1},
    "venue": {"enum": ["binance", "kraken", "coinbase", "lmax"]},
    "levels": {
      "type": "array", "maxItems": 50,
      "items": {"$ref": "#/definitions/level"}
    }
  },
  "dependencies": {"bid": ["ask"], "ask": ["bid"]},
  "additionalProperties": false,
  "definitions": {
    "level": {
      "type": "array",
      "items": [{"type": "number", "exclusiveMinimum": 0}, {"type": "number", "minimum": 0}],
      "additionalItems": false, "minItems": 2
    }
  }
})";

class MarketDataSchema : public ::testing::Test {
 protected:
  ValidationResult check(std::string_view tick) { return schema_.validate_json(tick, parser_); }

  Schema schema_ = Schema::compile(kMarketDataSchema);
  simdjson::dom::parser parser_;
};

TEST_F(MarketDataSchema, AcceptsWellFormedTicks) {
  EXPECT_TRUE(check(R"({"symbol": "BTC/USDT", "price": 64123.5, "volume": 12,
                       "timestamp": "2024-05-01T12:00:00.123456Z"})")
                  .ok());
  EXPECT_TRUE(check(R"({"symbol": "ES-2024.06", "price": 5301.25, "volume": 0, "bid": 5301.0, "ask": 5301.5,
                       "timestamp": "2024-05-01T12:00:00Z", "venue": "lmax",
                       "levels": [[5301.0, 10], [5300.75, 2.5]]})")
                  .ok());
  // 1.0 is an integer in draft-07; a uint64 volume is no problem.
  EXPECT_TRUE(check(R"({"symbol": "ETH", "price": 3000, "volume": 1.0, "timestamp": "t"})").ok());
  EXPECT_TRUE(check(R"({"symbol": "ETH", "price": 3000, "volume": 18446744073709551615, "timestamp": "t"})").ok());
}

TEST_F(MarketDataSchema, RefusesEachKindOfBadTick) {
  struct Case {
    std::string_view tick;
    std::string_view pointer;
    std::string_view message;
  };
  const Case cases[] = {
      {R"({"price": 1, "volume": 1, "timestamp": "t"})", "/symbol", "required property 'symbol' is missing"},
      {R"({"symbol": "btc/usdt", "price": 1, "volume": 1, "timestamp": "t"})", "/symbol",
       "must match pattern '^[A-Z0-9./-]{1,20}$'"},
      {R"({"symbol": "ABCDEFGHIJKLMNOPQRSTU", "price": 1, "volume": 1, "timestamp": "t"})", "/symbol",
       "must match pattern '^[A-Z0-9./-]{1,20}$'"},
      {R"({"symbol": 42, "price": 1, "volume": 1, "timestamp": "t"})", "/symbol", "must be of type string"},
      {R"({"symbol": "BTC", "price": 0, "volume": 1, "timestamp": "t"})", "/price", "must be > 0"},
      {R"({"symbol": "BTC", "price": -3.5, "volume": 1, "timestamp": "t"})", "/price", "must be > 0"},
      {R"({"symbol": "BTC", "price": "64000", "volume": 1, "timestamp": "t"})", "/price", "must be of type number"},
      {R"({"symbol": "BTC", "price": 1, "volume": -1, "timestamp": "t"})", "/volume", "must be >= 0"},
      {R"({"symbol": "BTC", "price": 1, "volume": 0.5, "timestamp": "t"})", "/volume", "must be of type integer"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": 1714564800})", "/timestamp",
       "must be of type string"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "bid": 1})", "/ask",
       "property 'ask' is required when 'bid' is present"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "venue": "nyse"})", "/venue",
       "is not one of the allowed values"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "sise": 3})", "/sise",
       "additional property 'sise' is not allowed"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "levels": [[1, 2], [0, 1]]})", "/levels/1/0",
       "must be > 0"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "levels": [[1, 2, 3]]})", "/levels/0/2",
       "additional item is not allowed (at most 2 items)"},
      {R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "levels": [[1]]})", "/levels/0",
       "must have at least 2 items"},
      {R"(["BTC", 1])", "", "must be of type object"},
  };
  for (const Case& c : cases) {
    const ValidationResult result = check(c.tick);
    ASSERT_FALSE(result.ok()) << c.tick;
    EXPECT_EQ(result.error().pointer(), c.pointer) << c.tick;
    EXPECT_EQ(result.error().message, c.message) << c.tick;
  }
}

TEST_F(MarketDataSchema, LocationSegmentsBuildAFastApiLoc) {
  const ValidationResult result =
      check(R"({"symbol": "BTC", "price": 1, "volume": 1, "timestamp": "t", "levels": [[1, 2], [1, -2]]})");
  ASSERT_FALSE(result.ok());
  std::string loc = R"(["body")";
  for (const PathSegment& segment : result.error().instance_path) {
    loc += ", ";
    if (const auto* key = std::get_if<std::string>(&segment)) {
      loc += '"' + *key + '"';
    } else {
      loc += std::to_string(std::get<std::uint64_t>(segment));
    }
  }
  loc += ']';
  EXPECT_EQ(loc, R"(["body", "levels", 1, 1])");
  EXPECT_EQ(result.error().schema_path, "/definitions/level/items/1/minimum");
}

}  // namespace
}  // namespace tradpal::schema
