// Ring behaviour at its edges: open claims a lap back, forged commit words,
// the floor cache across many attaches, handlers that publish into the ring
// they read, and lossy accounting with filters. Each case once wedged the
// ring or delivered something wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "engine/bus.h"
#include "tests/engine/small_ring.h"

namespace tradpal {
namespace {

using namespace std::chrono_literals;

using testing::small_ring;

// Source "p" + 160 bytes of data + "{}" make a frame of exactly 256 bytes.
const std::string kData160 = "{\"x\": \"" + std::string(151, 'a') + "\"}";

PublishStatus publish256(Bus& bus, EventType t = EventType::order_executed) {
  return bus.try_publish({.type = t, .source = "p", .data = kData160});
}

std::size_t drain(Subscription& s) { return s.poll([](const EventView&, bool) {}); }

class OpenClaim : public ::testing::TestWithParam<bool> {};

// On a single_producer ring too (it skips the walk over old headers only
// while its producer holds no claim), and on a publication's ring.
TEST_P(OpenClaim, OneLapBackHoldsProducersBack) {
  BusOptions options = small_ring();
  options.ring.single_producer = GetParam();
  Bus bus(options);
  ASSERT_EQ(detail::frame_length(1, 160, 2), 256u);
  Claim open;
  ASSERT_EQ(bus.try_claim({.type = EventType::order_executed, .source = "p", .data_size = 160, .metadata_size = 2},
                          open),
            PublishStatus::ok);
  auto sub = bus.subscribe();  // starts after the open claim
  for (int i = 0; i < 15; ++i) {
    ASSERT_EQ(publish256(bus), PublishStatus::ok);
    drain(sub);
  }
  // The next frame would reuse the open claim's memory.
  EXPECT_EQ(publish256(bus), PublishStatus::back_pressured);
  std::memset(open.data(), ' ', 160);
  std::memcpy(open.data(), "{}", 2);
  std::memcpy(open.metadata(), "{}", 2);
  open.commit();
  ASSERT_EQ(publish256(bus), PublishStatus::ok);
  std::vector<std::string> got;
  sub.poll([&](const EventView& v, bool) { got.emplace_back(v.data()); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], kData160);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(publish256(bus), PublishStatus::ok);
    EXPECT_EQ(drain(sub), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(RingSafety, OpenClaim, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "single_producer" : "shared"; });

TEST(RingSafety, TryClaimReturnsInsteadOfWaitingForAnOpenClaim) {
  Bus bus(small_ring());
  auto lossy = bus.subscribe({.mode = BackPressure::lossy});
  Claim open;
  ASSERT_EQ(bus.try_claim({.type = EventType::order_executed, .source = "p", .data_size = 160, .metadata_size = 2},
                          open),
            PublishStatus::ok);
  for (int i = 0; i < 15; ++i) ASSERT_EQ(publish256(bus), PublishStatus::ok);
  auto result = std::async(std::launch::async, [&] { return publish256(bus); });
  ASSERT_EQ(result.wait_for(2s), std::future_status::ready) << "try_claim blocked";
  EXPECT_EQ(result.get(), PublishStatus::back_pressured);
  open.abort();  // becomes padding, which nobody counts as lost
  for (int i = 0; i < 4; ++i) EXPECT_EQ(publish256(bus), PublishStatus::ok);
  EXPECT_EQ(lossy.lost_total(), 3u);  // the events at 256, 512 and 768 were overwritten unread
}

TEST(RingSafety, PayloadBytesCannotPassForACommittedFrame) {
  Bus bus(small_ring(8192, 1024));
  auto sub = bus.subscribe();
  // A source that carries, on a 64-byte boundary of the ring, what a frame
  // header committed one lap later at that place would hold without a key.
  std::string source(600, 'x');
  detail::FrameHeader forged{};
  const Sequence target = 8192 + 512;
  forged.commit.store(target);
  forged.descriptor.store(
      detail::make_descriptor(256, detail::FrameKind::event, EventType::risk_alert, EventOrigin::local));
  forged.data_size = 2;
  std::memcpy(source.data() + 448, &forged, sizeof forged);  // body starts at 64: 64 + 448 = 512
  ASSERT_EQ(bus.try_publish({.type = EventType::order_executed, .source = source}), PublishStatus::ok);
  std::vector<EventType> seen;
  auto record = [&] { sub.poll([&](const EventView& v, bool) { seen.push_back(v.type()); }); };
  record();
  while (bus.ring().tail() < target) {
    ASSERT_EQ(publish256(bus), PublishStatus::ok);
    record();
  }
  record();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), EventType::risk_alert), 0) << "a forged event was delivered";
  EXPECT_LE(sub.position(), bus.ring().tail());
  const std::size_t before = seen.size();
  ASSERT_EQ(publish256(bus), PublishStatus::ok);
  record();
  EXPECT_EQ(seen.size() - before, 1u) << "the real event at the forged position was not delivered";
}

// Runs `cycles` attach/close rounds, then attaches a gating subscriber at an
// old sequence and reports how many of 8 publishes got through and how many
// events the late subscriber received.
std::pair<int, std::size_t> late_start_after(int cycles) {
  Bus bus(small_ring());
  for (int i = 0; i < 17; ++i) EXPECT_EQ(publish256(bus), PublishStatus::ok);  // the 17th wraps: slow path
  for (int i = 0; i < cycles; ++i) bus.subscribe({.mode = BackPressure::lossy}).close();
  auto late = bus.subscribe({.start = 1024});
  int ok = 0;
  for (int i = 0; i < 8; ++i) ok += publish256(bus) == PublishStatus::ok;
  return {ok, drain(late)};
}

TEST(RingSafety, ManyAttachesDoNotRevalidateAStaleFloor) {
  // The floor's version tag has six bits; 63 and 64 rounds bring it back to
  // where it was. The outcome must not depend on that.
  const auto reference = late_start_after(1);
  for (int cycles : {62, 63, 64, 127}) {
    EXPECT_EQ(late_start_after(cycles), reference) << cycles << " attach rounds";
  }
  EXPECT_EQ(reference.second, 16u);  // events 1024 .. 4352 are still there for it
}

TEST(RingSafety, HandlersMayPublishIntoTheRingTheyRead) {
  for (BackPressure mode : {BackPressure::block, BackPressure::lossy}) {
    Bus bus(small_ring());
    auto strategy = bus.subscribe({.types = {EventType::market_data_update}, .mode = mode});
    for (int i = 0; i < 12; ++i) ASSERT_EQ(publish256(bus, EventType::market_data_update), PublishStatus::ok);
    // Twelve more frames than the ring holds behind the first one in hand:
    // only possible because the position moves with each event handled.
    int published = 0;
    strategy.poll([&](const EventView&, bool) {
      if (publish256(bus, EventType::trading_signal) == PublishStatus::ok) ++published;
    });
    EXPECT_EQ(published, 12) << (mode == BackPressure::block ? "block" : "lossy");
  }
}

// A handler publishing into its own, nearly full ring gets the room of
// every event it has handled back (the position moves before each handler
// call; a subscriber that published it only every few KiB, as the
// Disruptor's batch processor does, measured no faster here and would give
// back less).
TEST(RingSafety, HandlersMayPublishIntoANearlyFullRingTheyRead) {
  Bus bus(small_ring(64 * 1024));
  auto sub = bus.subscribe({.types = {EventType::market_data_update}});
  constexpr int kQueued = 240;  // of the 256 frames the ring holds
  for (int i = 0; i < kQueued; ++i) ASSERT_EQ(publish256(bus, EventType::market_data_update), PublishStatus::ok);
  int published = 0;
  const std::size_t handled = sub.poll([&](const EventView&, bool) {
    if (publish256(bus, EventType::trading_signal) == PublishStatus::ok) ++published;
  });
  EXPECT_EQ(handled, static_cast<std::size_t>(kQueued));
  EXPECT_GE(published, kQueued - 1);
  // After the poll the position is published in full (the filtered-out
  // frames included): the ring is free again.
  EXPECT_LE(bus.ring().fill_bytes(), std::size_t{4096});
}

TEST(RingSafety, LossySubscribersAreChargedOnlyForTypesTheyWant) {
  Bus bus(small_ring());
  auto signals = bus.subscribe({.types = {EventType::trading_signal}, .mode = BackPressure::lossy});
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(publish256(bus, i % 10 == 0 ? EventType::trading_signal : EventType::market_data_update),
              PublishStatus::ok);
  }
  const std::size_t got = drain(signals);
  EXPECT_EQ(signals.lost(EventType::market_data_update), 0u);
  EXPECT_EQ(got + signals.lost_total(), 10u);
  EXPECT_EQ(bus.dropped_total(), signals.lost_total());
}

TEST(RingSafety, CloseIsFinalForEveryProducer) {
  Bus bus(small_ring(1 << 16, 512));
  auto sub = bus.subscribe();
  ASSERT_EQ(publish256(bus), PublishStatus::ok);
  bus.close();
  EXPECT_EQ(publish256(bus), PublishStatus::closed);
  Claim c;
  EXPECT_EQ(bus.try_claim({.source = "p", .data_size = 2, .metadata_size = 2}, c), PublishStatus::closed);
  EXPECT_EQ(drain(sub), 1u);
  EXPECT_TRUE(sub.drained());
  EXPECT_EQ(bus.ring().tail() % 64, 0u);
}

TEST(RingSafety, SingleProducerRingDeliversAndStartsAtPastSequences) {
  BusOptions o = small_ring();
  o.ring.single_producer = true;
  Bus bus(o);
  auto sub = bus.subscribe();
  Published first;
  ASSERT_EQ(bus.try_publish({.source = "p", .data = kData160}, &first), PublishStatus::ok);
  for (int round = 0; round < 100; ++round) {
    ASSERT_EQ(publish256(bus), PublishStatus::ok);
    ASSERT_EQ(drain(sub), round == 0 ? 2u : 1u);
  }
  Published recent;
  ASSERT_EQ(bus.try_publish({.source = "p", .data = kData160}, &recent), PublishStatus::ok);
  auto from_recent = bus.subscribe({.start = recent.sequence});
  EXPECT_EQ(drain(from_recent), 1u);
  EXPECT_THROW(bus.subscribe({.start = first.sequence}), std::runtime_error);
}

}  // namespace
}  // namespace tradpal
