// What poll() does when a handler throws: the exception never escapes (poll
// is noexcept), the event counts as consumed, delivery goes on, and the
// subscription's exception handler or its counter says so.
#include "engine/subscription.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "engine/bus.h"

namespace tradpal {
namespace {

TEST(Subscription, AHandlerThatThrowsSkipsOnlyItsEventAndIsCounted) {
  Bus bus;
  auto sub = bus.subscribe();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(bus.publish_event(EventType::trading_signal, "t", "{\"i\": " + std::to_string(i) + "}"),
              PublishStatus::ok);
  }
  std::vector<std::string> seen;
  testing::internal::CaptureStderr();
  const std::size_t delivered = sub.poll([&](const EventView& e, bool) {
    seen.emplace_back(e.data());
    if (seen.size() == 2 || seen.size() == 4) throw std::runtime_error("bad tick");
  });
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(delivered, 5u);
  EXPECT_EQ(seen.size(), 5u) << "the events after a failure are still delivered";
  EXPECT_EQ(sub.handler_failures(), 2u);
  EXPECT_EQ(sub.consumed_total(), 5u);
  // Reported once, with what was thrown and on which type.
  EXPECT_NE(err.find("bad tick"), std::string::npos) << err;
  EXPECT_NE(err.find("trading_signal"), std::string::npos) << err;
  EXPECT_EQ(err.find("bad tick", err.find("bad tick") + 1), std::string::npos) << "reported once: " << err;
  EXPECT_EQ(sub.poll([](const EventView&, bool) {}), 0u) << "nothing is redelivered";
}

TEST(Subscription, TheExceptionHandlerGetsTheEventAndTheException) {
  Bus bus;
  std::vector<std::string> failed;
  auto sub = bus.subscribe({.on_exception = [&](const EventView& e, std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::logic_error& x) {
      failed.push_back(std::string(e.data()) + " " + x.what());
    }
  }});
  ASSERT_EQ(bus.publish_event(EventType::risk_alert, "r", R"({"n": 1})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_event(EventType::risk_alert, "r", R"({"n": 2})"), PublishStatus::ok);
  testing::internal::CaptureStderr();
  sub.poll([](const EventView& e, bool) {
    if (e.data() == R"({"n": 1})") throw std::logic_error("first");
  });
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "the handler was given: nothing on stderr";
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0], R"({"n": 1} first)");
  EXPECT_EQ(sub.handler_failures(), 1u);
}

TEST(Subscription, TheFailurePolicyMovesWithTheSubscription) {
  Bus bus;
  int calls = 0;
  auto first = bus.subscribe({.on_exception = [&](const EventView&, std::exception_ptr) { ++calls; }});
  Subscription moved = std::move(first);
  ASSERT_EQ(bus.publish_event(EventType::system_health, "s"), PublishStatus::ok);
  moved.poll([](const EventView&, bool) { throw 42; });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(moved.handler_failures(), 1u);
}

TEST(Subscription, ANoexceptHandlerRunsUnguarded) {
  Bus bus;
  auto sub = bus.subscribe();
  ASSERT_EQ(bus.publish_event(EventType::system_health, "s"), PublishStatus::ok);
  int n = 0;
  EXPECT_EQ(sub.poll([&](const EventView&, bool) noexcept { ++n; }), 1u);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(sub.handler_failures(), 0u);
}

}  // namespace
}  // namespace tradpal
