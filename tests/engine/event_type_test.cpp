#include "engine/event_type.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace tradpal {
namespace {

TEST(EventType, NamesRoundTripInContractOrder) {
  ASSERT_EQ(kEventTypeNames.size(), 16u);
  EXPECT_EQ(kEventTypeNames.front(), "market_data_update");
  EXPECT_EQ(kEventTypeNames.back(), "feature_vector_update");
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    const auto type = static_cast<EventType>(i);
    const auto parsed = parse_event_type(to_string(type));
    ASSERT_TRUE(parsed.has_value()) << to_string(type);
    EXPECT_EQ(*parsed, type);
    EXPECT_TRUE(seen.insert(to_string(type)).second);
  }
}

TEST(EventType, UnknownNamesAreAnErrorNotAnException) {
  EXPECT_FALSE(parse_event_type("mystery_type"));
  EXPECT_FALSE(parse_event_type(""));
  EXPECT_FALSE(parse_event_type("Trading_Signal"));
  EXPECT_FALSE(parse_event_type(" trading_signal"));
  EXPECT_FALSE(parse_event_type(std::string_view("trading_signal\0x", 16)));
}

TEST(EventType, SetFiltersByType) {
  EventTypeSet s{EventType::trading_signal, EventType::risk_alert};
  EXPECT_TRUE(s.contains(EventType::trading_signal));
  EXPECT_TRUE(s.contains(EventType::risk_alert));
  EXPECT_FALSE(s.contains(EventType::order_executed));
  EXPECT_TRUE(EventTypeSet{}.empty());
  EXPECT_TRUE(EventTypeSet::all().contains(EventType::feature_vector_update));
}

}  // namespace
}  // namespace tradpal
