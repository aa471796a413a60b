// Exclusive publications (engine/publication.h): every subscription reads
// them beside the bus's ring, in each publication's order, with the bus's
// back-pressure, losses, filters, counters, close and wake-ups.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/bus.h"
#include "engine/subscriber_thread.h"

namespace tradpal {
namespace {

using namespace std::chrono_literals;

std::string counter_json(int n) { return "{\"n\": " + std::to_string(n) + "}"; }

// The "n" of every event a poll delivers, in delivery order.
std::vector<int> drain(Subscription& sub, std::size_t limit = 1 << 20) {
  std::vector<int> seen;
  sub.poll(
      [&](const EventView& e, bool) {
        const std::string_view d = e.data();
        seen.push_back(std::stoi(std::string(d.substr(d.find(':') + 1))));
      },
      limit);
  return seen;
}

EventSpec spec(const std::string& data, EventType type = EventType::market_data_update) {
  return {.type = type, .source = "lane_test", .data = data};
}

TEST(Publication, ReachesEverySubscriberInItsOrderAndCounts) {
  Bus bus;
  Subscription a = bus.subscribe();
  Subscription b = bus.subscribe();
  Publication pub = bus.publication();
  ASSERT_TRUE(pub.valid());
  std::vector<int> expected;
  for (int i = 0; i < 100; ++i) {
    Published out;
    ASSERT_EQ(pub.try_publish(spec(counter_json(i)), &out), PublishStatus::ok);
    EXPECT_EQ(out.sequence, pub.ring().tail() - 128);  // a 64-byte frame header + one body line
    expected.push_back(i);
  }
  EXPECT_EQ(drain(a), expected);
  EXPECT_EQ(drain(b), expected);
  EXPECT_EQ(bus.published(EventType::market_data_update), 100u);
  EXPECT_EQ(a.consumed(EventType::market_data_update), 100u);
  EXPECT_EQ(b.consumed_total(), 100u);
  EXPECT_EQ(bus.publication_rings(), 1u);
}

TEST(Publication, ALaterSubscriptionStartsAtThePublicationsTail) {
  Bus bus;
  Publication pub = bus.publication();
  ASSERT_EQ(pub.try_publish(spec(counter_json(1))), PublishStatus::ok);
  Subscription sub = bus.subscribe();
  ASSERT_EQ(pub.try_publish(spec(counter_json(2))), PublishStatus::ok);
  EXPECT_EQ(drain(sub), std::vector<int>{2});
}

TEST(Publication, ASubscriptionReadsAPublicationMadeAfterIt) {
  Bus bus;
  Subscription sub = bus.subscribe();
  ASSERT_EQ(bus.try_publish(spec(counter_json(0))), PublishStatus::ok);
  Publication pub = bus.publication();
  ASSERT_EQ(pub.try_publish(spec(counter_json(1))), PublishStatus::ok);
  std::vector<int> seen = drain(sub);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{0, 1}));
}

TEST(Publication, PollTakesTheSourcesInTurnSoNoneStarves) {
  Bus bus;
  Subscription sub = bus.subscribe();
  Publication pub = bus.publication();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(bus.try_publish(spec(counter_json(i))), PublishStatus::ok);
    ASSERT_EQ(pub.try_publish(spec(counter_json(1000 + i))), PublishStatus::ok);
  }
  // Ten at a time: the bus's ring could fill every poll; the next poll
  // must start at the publication.
  const std::vector<int> first = drain(sub, 10);
  const std::vector<int> second = drain(sub, 10);
  ASSERT_EQ(first.size(), 10u);
  ASSERT_EQ(second.size(), 10u);
  const bool first_from_bus = first.front() < 1000;
  for (int n : first) EXPECT_EQ(n < 1000, first_from_bus);
  for (int n : second) EXPECT_EQ(n < 1000, !first_from_bus);
  // And each source stays in its own order.
  std::vector<int> rest = drain(sub);
  rest.insert(rest.begin(), second.begin(), second.end());
  rest.insert(rest.begin(), first.begin(), first.end());
  int last_bus = -1;
  int last_pub = 999;
  for (int n : rest) {
    int& last = n < 1000 ? last_bus : last_pub;
    EXPECT_EQ(n, last + 1);
    last = n;
  }
  EXPECT_EQ(last_bus, 49);
  EXPECT_EQ(last_pub, 1049);
}

TEST(Publication, ALaneFreedIsTakenAgainAndTheLimitIsAClearError) {
  Bus bus({.max_publications = 2});
  Publication one = bus.publication();
  Publication two = bus.publication();
  EXPECT_NE(one.lane(), two.lane());
  try {
    Publication three = bus.publication();
    FAIL() << "a third publication with max_publications = 2";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("max_publications"), std::string::npos) << e.what();
  }
  const std::uint32_t freed = one.lane();
  Subscription sub = bus.subscribe();
  ASSERT_EQ(one.try_publish(spec(counter_json(7))), PublishStatus::ok);
  one.release();
  EXPECT_FALSE(one.valid());
  Publication again = bus.publication();
  EXPECT_EQ(again.lane(), freed);
  EXPECT_EQ(bus.publication_rings(), 2u);
  // What the freed lane held is still delivered, then what comes next.
  ASSERT_EQ(again.try_publish(spec(counter_json(8))), PublishStatus::ok);
  EXPECT_EQ(drain(sub), (std::vector<int>{7, 8}));
}

TEST(Publication, OptionsBeyondTheLimitAreRefused) {
  EXPECT_THROW(Bus({.max_publications = kMaxPublications + 1}), std::invalid_argument);
  Bus bus({.max_publications = 1, .publication_capacity = 3000});
  EXPECT_THROW((void)bus.publication(), std::invalid_argument);
  Bus none({.max_publications = 0});
  EXPECT_THROW((void)none.publication(), std::runtime_error);
}

TEST(Publication, GatingSubscribersBackPressureIt) {
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 1024}, .publication_capacity = 1 << 14});
  Subscription sub = bus.subscribe();
  Publication pub = bus.publication();
  const std::string data = "{\"pad\": \"" + std::string(200, 'x') + "\"}";
  int published = 0;
  while (pub.try_publish(spec(data)) == PublishStatus::ok) ++published;
  EXPECT_EQ(pub.try_publish(spec(data)), PublishStatus::back_pressured);
  EXPECT_GT(published, 10);
  EXPECT_LE(published, (1 << 14) / 256);
  std::size_t seen = 0;
  seen += sub.poll([](const EventView&, bool) {});
  EXPECT_EQ(seen, static_cast<std::size_t>(published));
  EXPECT_EQ(pub.try_publish(spec(data)), PublishStatus::ok);
  EXPECT_EQ(sub.lost_total(), 0u);
}

TEST(Publication, LossySubscribersCountWhatTheyMissed) {
  Bus bus({.ring = {.capacity = 1 << 16, .max_event_size = 1024}, .publication_capacity = 1 << 14});
  Subscription sub = bus.subscribe({.mode = BackPressure::lossy});
  Publication pub = bus.publication();
  const std::string data = "{\"pad\": \"" + std::string(200, 'x') + "\"}";
  const int total = 1000;
  for (int i = 0; i < total; ++i) ASSERT_EQ(pub.try_publish(spec(data, EventType::risk_alert)), PublishStatus::ok);
  const std::size_t seen = sub.poll([](const EventView&, bool) {});
  EXPECT_GT(sub.lost(EventType::risk_alert), 0u);
  EXPECT_EQ(seen + sub.lost(EventType::risk_alert), static_cast<std::size_t>(total));
  EXPECT_EQ(sub.lost_total(), sub.lost(EventType::risk_alert));
  EXPECT_EQ(bus.dropped(EventType::risk_alert), sub.lost(EventType::risk_alert));
  const std::uint64_t lost = sub.lost_total();
  sub.close();
  EXPECT_EQ(bus.dropped_total(), lost);  // kept after the subscriber is gone
}

TEST(Publication, FiltersApply) {
  Bus bus;
  Subscription signals = bus.subscribe({.types = {EventType::trading_signal}});
  Publication pub = bus.publication();
  ASSERT_EQ(pub.try_publish(spec(counter_json(1), EventType::market_data_update)), PublishStatus::ok);
  ASSERT_EQ(pub.try_publish(spec(counter_json(2), EventType::trading_signal)), PublishStatus::ok);
  EXPECT_EQ(drain(signals), std::vector<int>{2});
}

TEST(Publication, BadJsonIsRefusedAndBatchesAndClaimsWork) {
  Bus bus;
  Subscription sub = bus.subscribe();
  Publication pub = bus.publication();
  EXPECT_EQ(pub.try_publish(spec("{\"price\": }")), PublishStatus::invalid);
  const std::string a = counter_json(1);
  const std::string b = counter_json(2);
  const EventSpec batch[] = {spec(a), spec(b)};
  const auto r = pub.try_publish_batch(batch);
  EXPECT_EQ(r.status, PublishStatus::ok);
  EXPECT_EQ(r.published, 2u);
  Claim claim;
  const std::string c = counter_json(3);
  ASSERT_EQ(pub.try_claim({.type = EventType::order_executed, .source = "x", .data_size = c.size(), .metadata_size = 2},
                          claim),
            PublishStatus::ok);
  std::memcpy(claim.data(), c.data(), c.size());
  std::memcpy(claim.metadata(), "{}", 2);
  claim.commit();
  EXPECT_EQ(drain(sub), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(bus.published_total(), 3u);
}

TEST(Publication, CloseEndsPublishingAndSubscribersDrainTheRest) {
  Bus bus;
  Subscription sub = bus.subscribe();
  Publication pub = bus.publication();
  ASSERT_EQ(pub.try_publish(spec(counter_json(1))), PublishStatus::ok);
  bus.close();
  EXPECT_EQ(pub.try_publish(spec(counter_json(2))), PublishStatus::closed);
  EXPECT_FALSE(sub.drained());
  EXPECT_TRUE(sub.available());
  EXPECT_EQ(drain(sub), std::vector<int>{1});
  EXPECT_TRUE(sub.drained());
  // A publication's ring made after close() is closed too.
  Bus closed_first({.max_publications = 2});
  closed_first.close();
  Publication late = closed_first.publication();
  EXPECT_EQ(late.try_publish(spec(counter_json(1))), PublishStatus::closed);
}

TEST(Publication, ABlockedSubscriberThreadWakesForAPublicationsEvent) {
  Bus bus;
  std::atomic<int> seen{0};
  SubscriberThread t = SubscriberThread::start<Block>(bus.subscribe(), [&](const EventView&, bool) noexcept {
    seen.fetch_add(1, std::memory_order_relaxed);
  });
  std::this_thread::sleep_for(50ms);  // long enough for the thread to sleep on the futex
  Publication pub = bus.publication();
  ASSERT_EQ(pub.try_publish(spec(counter_json(1))), PublishStatus::ok);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (seen.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(seen.load(), 1);
  pub.release();
  bus.close();
  t.join();
}

}  // namespace
}  // namespace tradpal
