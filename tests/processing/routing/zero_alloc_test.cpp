// tests/processing/routing/zero_alloc_test.cpp
//
// Matching allocates nothing once warm: RuleMatcher::match on text that is
// padded (a ring frame's case) or not (copied into the matcher's buffer),
// and an EventFilter on a bus subscription. Every global operator new is
// replaced by a counting one (tests/support/counting_allocator.h), so this
// is its own executable.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/bus.h"
#include "processing/routing/event_filter.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"
#include "tests/support/counting_allocator.h"

namespace tradpal::routing {
namespace {

using tradpal::testing::g_allocations;

constexpr std::string_view kRules = R"({"rules": [
  {"name": "md", "copy_to": "md", "when": {"field": "type", "eq": "market_data_update"}},
  {"name": "deep", "copy_to": ["deep", "md"], "tag": {"t": 1},
   "when": {"all": [{"field": "data.legs.1.qty", "gte": 2}, {"field": "data.symbol", "regex": "^BTC"},
                    {"not": {"field": "metadata.test", "eq": true}}, {"field": "source", "in": ["a", "data_service"]}]}}]})";

TEST(RoutingZeroAllocTest, TheCounterCounts) {
  const std::uint64_t before = g_allocations.load();
  auto p = std::make_unique<std::string>(100, 'x');
  EXPECT_GE(g_allocations.load() - before, 1u) << "operator new is not the counting one: every test here would pass";
}

TEST(RoutingZeroAllocTest, MatchingAllocatesNothingOnceWarm) {
  const RuleSet rules = RuleSet::parse(kRules);
  RuleMatcher m(rules);
  const std::string data = R"({"symbol": "BTCUSDT", "legs": [{"qty": 1}, {"qty": 3}]})";
  std::string padded = data;
  padded.append(simdjson::SIMDJSON_PADDING, ' ');
  const RoutedEvent unpadded{"market_data_update", "data_service", "id", data, R"({"test": false})"};
  const RoutedEvent in_place{"market_data_update", "data_service", "id", std::string_view(padded.data(), data.size()),
                             R"({"test": false})", padded.size(), 0};
  ASSERT_EQ(m.match(unpadded).size(), 2u);
  ASSERT_EQ(m.match(in_place).size(), 2u);
  const std::uint64_t before = g_allocations.load();
  std::size_t matched = 0;
  for (int i = 0; i < 10000; ++i) matched += m.match(i % 2 ? unpadded : in_place).size() + m.targets().size();
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(matched, 10000u * 4);
}

TEST(RoutingZeroAllocTest, AFilteredSubscriptionAllocatesNothingOnceWarm) {
  Bus bus;
  auto sub = bus.subscribe();
  EventFilter deep(std::make_shared<const RuleSet>(RuleSet::parse(kRules)), "deep");
  std::size_t seen = 0;
  auto handler = when(deep, [&](const EventView&, bool) { ++seen; });
  const EventSpec hit{.type = EventType::market_data_update, .source = "data_service",
                      .data = R"({"symbol": "BTCUSDT", "legs": [{"qty": 1}, {"qty": 3}]})"};
  const EventSpec miss{.type = EventType::market_data_update, .source = "data_service", .data = R"({"legs": []})"};
  auto round = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(bus.publish(i % 2 ? miss : hit), PublishStatus::ok);
      std::size_t got = 0;
      while (got == 0) got = sub.poll(handler);
    }
  };
  round(100);  // warm: the id generator, the filter's parsers
  const std::uint64_t before = g_allocations.load();
  round(10000);
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_EQ(seen, 50u + 5000u);
}

}  // namespace
}  // namespace tradpal::routing
