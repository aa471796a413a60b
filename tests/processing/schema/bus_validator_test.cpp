// tests/processing/schema/bus_validator_test.cpp
//
// schema::BusValidator on a Bus with the default schemas (schemas/): every
// recorded payload is published, a payload whose known field has the wrong
// type answers `invalid` with the field's JSON Pointer and nothing is
// published, types without a schema pass, and publishing threads validate
// at once (each with its own parser).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/bus.h"
#include "engine/event_type.h"
#include "processing/schema/bus_validator.h"
#include "processing/schema/schema_set.h"

namespace tradpal::schema {
namespace {

const SchemaSet& defaults() {
  static const SchemaSet set = SchemaSet::load_directory(TRADPAL_SCHEMAS_DIR);
  return set;
}

std::size_t drain(Subscription& sub) {
  return sub.poll([](const EventView&, bool) {});
}

TEST(BusValidator, TakesTheSchemaOfEveryEventType) {
  const BusValidator validator(defaults());
  EXPECT_EQ(validator.size(), kEventTypeCount);
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    EXPECT_NE(validator.schema_for(static_cast<EventType>(i)), nullptr) << kEventTypeNames[i];
  }
}

TEST(BusValidator, RefusesAStringPriceNamingIt) {
  const BusValidator validator(defaults());
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  PublishRejection why;
  EXPECT_EQ(bus.publish_market_data("BTC/USDT", R"({"price": "45000.0", "volume": 1})", "feed", nullptr, 0, &why),
            PublishStatus::invalid);
  EXPECT_EQ(why.part(), PublishRejection::Part::data);
  EXPECT_EQ(why.path(), "/price");
  EXPECT_EQ(why.message(), "must be of type number");
  // The same through try_publish, and a missing required field.
  EXPECT_EQ(bus.try_publish({.type = EventType::market_data_update,
                             .source = "feed",
                             .data = R"({"symbol": "BTC/USDT", "price": "high"})"},
                            nullptr, &why),
            PublishStatus::invalid);
  EXPECT_EQ(why.path(), "/price");
  EXPECT_EQ(bus.try_publish({.type = EventType::market_data_update, .data = R"({"price": 1})"}, nullptr, &why),
            PublishStatus::invalid);
  EXPECT_EQ(why.path(), "/symbol");
  EXPECT_EQ(bus.published_total(), 0u);
  EXPECT_EQ(bus.ring().tail(), 0u);
  EXPECT_EQ(drain(sub), 0u);
  // A well-typed price goes through.
  EXPECT_EQ(bus.publish_market_data("BTC/USDT", R"({"price": 45000.0, "volume": 1})", "feed", nullptr, 0, &why),
            PublishStatus::ok);
  EXPECT_EQ(drain(sub), 1u);
}

TEST(BusValidator, NamesNestedValuesAndRefusesWithoutARecord) {
  const BusValidator validator(defaults());
  PublishRejection why;
  const PublishValidator::Event event{.type = EventType::portfolio_update,
                                      .source = "risk",
                                      .data = R"({"positions": [{"symbol": "A", "qty": 1}, {"qty": "x"}]})",
                                      .metadata = "{}"};
  EXPECT_FALSE(validator.validate(event, &why));
  EXPECT_EQ(why.path(), "/positions/1/qty");
  EXPECT_FALSE(validator.validate(event, nullptr));
  PublishValidator::Event good = event;
  good.data = R"({"positions": [{"symbol": "A", "qty": 1}]})";
  EXPECT_TRUE(validator.validate(good, nullptr));
}

// Every event the Python system was recorded writing to its stream (those
// that are TradPal events: a known type and objects as data and metadata).
TEST(BusValidator, PublishesEveryRecordedPayload) {
  const BusValidator validator(defaults());
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  simdjson::dom::parser outer, inner;
  std::size_t published = 0;
  for (const char* file : {"tradpal_stream.jsonl", "tradpal_stream_edge.jsonl"}) {
    std::ifstream in(std::string(TRADPAL_FIXTURES_DIR) + "/" + file);
    ASSERT_TRUE(in) << file;
    for (std::string line; std::getline(in, line);) {
      std::string_view event_text;
      if (outer.parse(line)["fields"]["event"].get(event_text) != simdjson::SUCCESS) continue;
      simdjson::dom::element event;
      if (inner.parse(event_text.data(), event_text.size()).get(event) != simdjson::SUCCESS) continue;
      std::string_view type_name, source = "recorded";
      simdjson::dom::object data, metadata;
      if (event["event_type"].get(type_name) || !parse_event_type(type_name) || event["data"].get(data)) continue;
      if (event["source"].get(source) != simdjson::SUCCESS) source = "recorded";
      const std::string data_text = simdjson::minify(data);
      const std::string metadata_text = event["metadata"].get(metadata) ? "{}" : simdjson::minify(metadata);
      PublishRejection why;
      const PublishStatus s = bus.try_publish(
          {.type = *parse_event_type(type_name), .source = source, .data = data_text, .metadata = metadata_text},
          nullptr, &why);
      EXPECT_EQ(s, PublishStatus::ok) << file << " " << type_name << " " << data_text << ": " << why.path() << " "
                                      << why.message();
      published += s == PublishStatus::ok;
    }
  }
  EXPECT_GE(published, 20u);
  EXPECT_EQ(drain(sub), published);
}

TEST(BusValidator, TypesWithoutASchemaPassUnchecked) {
  SchemaSet only_market_data;
  only_market_data.add("market_data_update", *defaults().find("market_data_update"));
  only_market_data.add("not_an_event_type", Schema::compile("false"));
  const BusValidator validator(only_market_data);
  EXPECT_EQ(validator.size(), 1u);
  EXPECT_EQ(validator.schema_for(EventType::trading_signal), nullptr);
  Bus bus({.validator = &validator});
  EXPECT_EQ(bus.publish_trading_signal(R"({"confidence": "very"})"), PublishStatus::ok);
  EXPECT_EQ(bus.publish_market_data("BTC", R"({"price": -1})"), PublishStatus::invalid);
}

TEST(BusValidator, TextTheShapeCheckLetThroughIsNotJson) {
  const BusValidator validator(defaults());
  Bus bus({.json_check = JsonCheck::shape, .validator = &validator});
  PublishRejection why;
  EXPECT_EQ(bus.try_publish({.type = EventType::trading_signal, .data = R"({"symbol": tru})"}, nullptr, &why),
            PublishStatus::invalid);
  EXPECT_EQ(why.path(), "");
  EXPECT_EQ(why.message().substr(0, 19), "is not valid JSON: ");
  EXPECT_GT(why.message().size(), 19u);
}

TEST(BusValidator, BatchStopsAtTheFailingEvent) {
  const BusValidator validator(defaults());
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  const std::vector<EventSpec> specs = {
      {.type = EventType::market_data_update, .data = R"({"symbol": "A", "price": 1})"},
      {.type = EventType::trading_signal, .data = R"({"symbol": "A", "action": "BUY"})"},
      {.type = EventType::market_data_update, .data = R"({"symbol": "B", "volume": -5})"},
      {.type = EventType::market_data_update, .data = R"({"symbol": "C", "price": 3})"}};
  PublishRejection why;
  const Bus::BatchResult r = bus.try_publish_batch(specs, nullptr, &why);
  EXPECT_EQ(r.status, PublishStatus::invalid);
  EXPECT_EQ(r.published, 2u);
  EXPECT_EQ(why.path(), "/volume");
  EXPECT_EQ(drain(sub), 2u);
}

// Publishing threads validate through one BusValidator at once, each with
// its own parser and buffer (and events of different sizes, so the buffers
// grow while others validate).
TEST(BusValidator, ThreadsValidateAtOnce) {
  const BusValidator validator(defaults());
  Bus bus({.validator = &validator});
  auto sub = bus.subscribe();
  constexpr unsigned kThreads = 4;
  constexpr int kEach = 5'000;
  std::atomic<unsigned> running{kThreads};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PublishRejection why;
      for (int i = 0; i < kEach; ++i) {
        const std::string padding(static_cast<std::size_t>((i * 37 + t * 11) % 3000), 'x');
        const bool good = i % 3 != 0;
        const std::string data = std::string(R"({"price": )") + (good ? "1.5" : "\"1.5\"") + R"(, "timestamp": ")" +
                                 padding + "x\"}";
        const PublishStatus s = bus.publish_market_data("BTC", data, "feed", nullptr, 0, &why);
        if (s != (good ? PublishStatus::ok : PublishStatus::invalid) || (!good && why.path() != "/price")) {
          wrong.fetch_add(1, std::memory_order_relaxed);
        }
      }
      running.fetch_sub(1, std::memory_order_release);
    });
  }
  std::size_t seen = 0;
  while (running.load(std::memory_order_acquire) != 0) {
    const std::size_t n = drain(sub);
    seen += n;
    if (n == 0) std::this_thread::yield();
  }
  for (std::thread& th : threads) th.join();
  seen += drain(sub);
  const std::size_t good_per_thread = kEach - (kEach + 2) / 3;
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(seen, kThreads * good_per_thread);
}

}  // namespace
}  // namespace tradpal::schema
