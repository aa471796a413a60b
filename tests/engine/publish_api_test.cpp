// tests/engine/publish_api_test.cpp
//
// The publishing API a trading process calls: a convenience publisher per
// TradPal event type (each with its correlation token), JSON checked before
// anything is written (full by default, shape on request), and a publish
// that gives up at a deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/bus.h"
#include "engine/event.h"
#include "tests/engine/small_ring.h"

namespace tradpal {
namespace {

using namespace std::chrono_literals;
using testing::small_ring;

std::vector<Event> drain(Subscription& sub) {
  std::vector<Event> out;
  sub.poll([&](const EventView& e, bool) { out.push_back(to_event(e)); });
  return out;
}

TEST(PublishApi, EveryConveniencePublisherWritesItsTypeSourceDataAndCorrelation) {
  Bus bus(small_ring(1 << 16, 1024));
  auto sub = bus.subscribe();
  Published p;
  ASSERT_EQ(bus.publish_market_data("BTC/USDT", R"({"price": 1})", "data_service", &p, 1), PublishStatus::ok);
  ASSERT_EQ(bus.publish_trading_signal(R"({"a": 2})", "trading_bot", &p, 2), PublishStatus::ok);
  ASSERT_EQ(bus.publish_portfolio_update(R"({"a": 3})", "risk_service", &p, 3), PublishStatus::ok);
  ASSERT_EQ(bus.publish_order_executed(R"({"a": 4})", "execution_service", &p, 4), PublishStatus::ok);
  ASSERT_EQ(bus.publish_risk_alert(R"({"a": 5})", "risk_service", &p, 5), PublishStatus::ok);
  ASSERT_EQ(bus.publish_system_health(R"({"a": 6})", "monitoring_service", &p, 6), PublishStatus::ok);
  ASSERT_EQ(bus.publish_ml_model_update(R"({"a": 7})", "ml_service", &p, 7), PublishStatus::ok);
  ASSERT_EQ(bus.publish_backtest_complete(R"({"a": 8})", "backtest_service", &p, 8), PublishStatus::ok);
  std::vector<std::uint64_t> correlations;
  sub.poll([&](const EventView& e, bool) { correlations.push_back(e.correlation()); });
  EXPECT_EQ(correlations, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));

  auto sub2 = bus.subscribe();
  (void)bus.publish_order_executed(R"({"id": "o1"})");
  (void)bus.publish_risk_alert(R"({"level": "high"})");
  (void)bus.publish_system_health(R"({"ok": true})");
  (void)bus.publish_ml_model_update(R"({"model": "m"})");
  (void)bus.publish_backtest_complete(R"({"sharpe": 1.5})");
  const auto events = drain(sub2);
  ASSERT_EQ(events.size(), 5u);
  const EventType types[] = {EventType::order_executed, EventType::risk_alert, EventType::system_health,
                             EventType::ml_model_update, EventType::backtest_complete};
  const char* sources[] = {"execution_service", "risk_service", "monitoring_service", "ml_service",
                           "backtest_service"};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(events[i].type, types[i]);
    EXPECT_EQ(events[i].source, sources[i]);
  }
  EXPECT_EQ(events[4].data, R"({"sharpe": 1.5})");
}

TEST(PublishApi, TextThatIsNotOneJsonObjectIsRefusedAndNothingIsWritten) {
  Bus bus(small_ring());
  auto sub = bus.subscribe();
  for (const char* bad : {R"({"price": })", R"({"a": 1} {"b": 2})", R"({"a": tru})", "{\"a\": \"\x01\"}",
                          R"({"a": [1, }")", "{", "{}}", R"({"a" 1})"}) {
    EXPECT_EQ(bus.try_publish({.data = bad}), PublishStatus::invalid) << bad;
    EXPECT_EQ(bus.try_publish({.metadata = bad}), PublishStatus::invalid) << bad;
    EXPECT_EQ(bus.publish_market_data("X", bad), PublishStatus::invalid) << bad;
    EXPECT_EQ(bus.publish_risk_alert(bad), PublishStatus::invalid) << bad;
    const EventSpec specs[] = {{.data = "{}"}, {.data = bad}};
    const auto r = bus.try_publish_batch(specs);
    EXPECT_EQ(r.published, 1u) << bad;
    EXPECT_EQ(r.status, PublishStatus::invalid) << bad;
  }
  const auto events = drain(sub);
  EXPECT_EQ(events.size(), 8u);  // only the batches' valid first specs
  for (const Event& e : events) EXPECT_EQ(e.data, "{}");
  EXPECT_EQ(bus.try_publish({.data = R"( {"nested": {"a": [1, 2.5e3, null, "\u00e9"]}} )"}), PublishStatus::ok);
}

TEST(PublishApi, AShapeCheckingBusLeavesTheFullCheckToWhoeverStoresTheEvent) {
  BusOptions o = small_ring();
  o.json_check = JsonCheck::shape;
  Bus bus(o);
  EXPECT_EQ(bus.try_publish({.data = R"({"price": })"}), PublishStatus::ok);
  EXPECT_EQ(bus.try_publish({.data = "[1]"}), PublishStatus::invalid);
}

TEST(PublishApi, APublishWithADeadlineGivesUpWhenTheRingStaysFull) {
  Bus bus(small_ring(4096, 256));
  auto gate = bus.subscribe();  // gating, never polled: the ring fills up
  const std::string data = R"({"pad": ")" + std::string(150, 'x') + R"("})";
  while (bus.try_publish({.data = data}) == PublishStatus::ok) {
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(bus.publish_for({.data = data}, 30ms), PublishStatus::timed_out);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(to_string(PublishStatus::timed_out), "timed_out");
  // Room made before the deadline: it goes in.
  (void)drain(gate);
  EXPECT_EQ(bus.publish_until({.data = data}, std::chrono::steady_clock::now() + 1s), PublishStatus::ok);
  // A refusal that waiting cannot cure comes at once.
  EXPECT_EQ(bus.publish_for({.data = "nope"}, 1s), PublishStatus::invalid);
}

}  // namespace
}  // namespace tradpal
