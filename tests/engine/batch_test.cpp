// Bus::try_publish_batch / Ring::try_claim_batch: one claim for many events,
// all or nothing per chunk, across the ring's wrap, under back-pressure.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/bus.h"
#include "small_ring.h"

namespace tradpal {
namespace {

std::vector<std::string> payloads(std::size_t n, std::size_t first = 0) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("{\"i\": " + std::to_string(first + i) + "}");
  return out;
}

std::vector<EventSpec> specs_for(const std::vector<std::string>& data) {
  std::vector<EventSpec> specs;
  for (const auto& d : data) specs.push_back({.type = EventType::market_data_update, .source = "batch", .data = d});
  return specs;
}

TEST(Batch, PublishesInOrderWithOneTimeStampPerChunkAndFreshIds) {
  Bus bus;
  auto sub = bus.subscribe();
  const auto data = payloads(150);  // three chunks of at most kMaxBatch
  const auto specs = specs_for(data);
  std::vector<Published> out(specs.size());
  const auto r = bus.try_publish_batch(specs, out.data());
  ASSERT_EQ(r.status, PublishStatus::ok);
  ASSERT_EQ(r.published, specs.size());
  EXPECT_EQ(bus.published(EventType::market_data_update), specs.size());
  std::vector<std::string> seen;
  std::vector<TimestampNs> stamps;
  std::set<std::string> ids;
  sub.poll([&](const EventView& e, bool) {
    seen.emplace_back(e.data());
    stamps.push_back(e.timestamp_ns());
    ids.insert(e.event_id().to_string());
  });
  ASSERT_EQ(seen, data);
  EXPECT_EQ(ids.size(), specs.size()) << "every event has its own id";
  for (std::size_t i = 1; i < out.size(); ++i) EXPECT_GT(out[i].sequence, out[i - 1].sequence);
  for (const Published& p : out) EXPECT_TRUE(ids.contains(p.event_id.to_string())) << "out[] names the event";
  // One time stamp per chunk of kMaxBatch.
  for (std::size_t i = 1; i < Bus::kMaxBatch; ++i) EXPECT_EQ(stamps[i], stamps[0]);
  EXPECT_GE(stamps[Bus::kMaxBatch], stamps[0]);
}

TEST(Batch, KeepsGivenTimeStampsAndIds) {
  Bus bus;
  auto sub = bus.subscribe();
  const Uuid id = Uuid::generate_v4();
  const std::vector<EventSpec> specs = {
      {.type = EventType::risk_alert, .source = "r", .timestamp_ns = 1'700'000'000'000'000'000, .event_id = id},
      {.type = EventType::risk_alert, .source = "r"}};
  ASSERT_EQ(bus.try_publish_batch(specs).published, 2u);
  std::vector<TimestampNs> stamps;
  std::vector<Uuid> ids;
  sub.poll([&](const EventView& e, bool) {
    stamps.push_back(e.timestamp_ns());
    ids.push_back(e.event_id());
  });
  ASSERT_EQ(stamps.size(), 2u);
  EXPECT_EQ(stamps[0], 1'700'000'000'000'000'000);
  EXPECT_GT(stamps[1], 1'700'000'000'000'000'000);
  EXPECT_EQ(ids[0], id);
  EXPECT_NE(ids[1], id);
}

TEST(Batch, WrapsTheRingAndStaysInOrder) {
  Bus bus(testing::small_ring(4096, 256));
  auto sub = bus.subscribe();
  std::size_t next = 0, published = 0;
  for (int round = 0; round < 200; ++round) {
    const auto data = payloads(1 + round % 7, published);
    const auto r = bus.try_publish_batch(specs_for(data));
    ASSERT_EQ(r.status, PublishStatus::ok) << "round " << round;
    published += r.published;
    sub.poll([&](const EventView& e, bool) {
      EXPECT_EQ(e.data(), "{\"i\": " + std::to_string(next) + "}");
      ++next;
    });
  }
  EXPECT_EQ(next, published);
  EXPECT_GT(published * 64, 4096u * 10) << "the ring wrapped many times";
}

TEST(Batch, StopsWholeChunksAtBackPressureAndAtTheFirstInvalidSpec) {
  Bus bus(testing::small_ring(4096, 256));
  auto sub = bus.subscribe();  // gating, and never polled until the end
  const auto data = payloads(200);
  const auto r = bus.try_publish_batch(specs_for(data));
  EXPECT_EQ(r.status, PublishStatus::back_pressured);
  EXPECT_GT(r.published, 0u);
  EXPECT_LT(r.published, 200u);
  std::size_t seen = 0;
  sub.poll([&](const EventView&, bool) { ++seen; });
  EXPECT_EQ(seen, r.published) << "nothing of a refused chunk reached the ring";

  std::vector<std::string> mixed = {"{}", "{\"a\": 1}", "not json", "{}"};
  const auto m = bus.try_publish_batch(specs_for(mixed));
  EXPECT_EQ(m.status, PublishStatus::invalid);
  EXPECT_EQ(m.published, 2u);
}

TEST(Batch, RefusesAnEventTooLargeForTheRingAndPublishesWhatCameBefore) {
  Bus bus(testing::small_ring(4096, 256));
  auto sub = bus.subscribe();
  std::vector<std::string> data = {"{}", "{\"x\": \"" + std::string(400, 'x') + "\"}", "{}"};
  const auto r = bus.try_publish_batch(specs_for(data));
  EXPECT_EQ(r.status, PublishStatus::too_large);
  EXPECT_EQ(r.published, 1u);
}

// Ring::commit_batch: nothing of a batch shows before it, all of it after,
// in order; an aborted claim in the middle is padding nobody sees.
TEST(Batch, CommitBatchShowsTheWholeRunAtOnceAndSkipsAbortedClaims) {
  Bus bus;
  auto sub = bus.subscribe();
  std::vector<ClaimRequest> requests;
  for (int i = 0; i < 5; ++i) {
    requests.push_back({.type = EventType::order_executed, .source = "c", .data_size = 8, .metadata_size = 2});
  }
  std::vector<Claim> claims(requests.size());
  ASSERT_EQ(bus.try_claim_batch(requests, claims), PublishStatus::ok);
  EXPECT_EQ(bus.published(EventType::order_executed), 5u) << "every claimed event counts as published";
  for (std::size_t i = 0; i < claims.size(); ++i) {
    const std::string data = "{\"i\": " + std::to_string(i) + "}";
    std::memcpy(claims[i].data(), data.data(), 8);
    std::memcpy(claims[i].metadata(), "{}", 2);
  }
  claims[2].abort();
  std::vector<std::string> seen;
  auto collect = [&](const EventView& e, bool) { seen.emplace_back(e.data()); };
  EXPECT_EQ(sub.poll(collect), 0u) << "claims are invisible until committed";
  bus.commit_batch(claims);
  for (const Claim& c : claims) EXPECT_FALSE(c.active());
  EXPECT_EQ(sub.poll(collect), 4u);
  EXPECT_EQ(seen, (std::vector<std::string>{"{\"i\": 0}", "{\"i\": 1}", "{\"i\": 3}", "{\"i\": 4}"}));
  bus.commit_batch(claims);  // committing again changes nothing
  EXPECT_EQ(sub.poll(collect), 0u);
}

// On a single_producer ring commit_batch closes every claim it commits: the
// ring then wraps many times over without counting any as still open.
TEST(Batch, CommitBatchOnASingleProducerRingWrapsFreely) {
  Bus bus({.ring = {.capacity = 1 << 14, .max_event_size = 1024, .single_producer = true}});
  auto sub = bus.subscribe();
  std::vector<ClaimRequest> requests(
      8, {.type = EventType::order_executed, .source = "c", .data_size = 2, .metadata_size = 2});
  std::vector<Claim> claims(requests.size());
  std::size_t delivered = 0;
  for (int round = 0; round < 1000; ++round) {
    ASSERT_EQ(bus.ring().try_claim_batch(requests, claims), PublishStatus::ok) << "round " << round;
    for (Claim& c : claims) {
      std::memcpy(c.data(), "{}", 2);
      std::memcpy(c.metadata(), "{}", 2);
    }
    bus.ring().commit_batch(claims);
    delivered += sub.poll([](const EventView&, bool) {});
  }
  EXPECT_EQ(delivered, 8000u);
}

// A publication's zero-copy batch: on its own ring, counted by the bus,
// seen whole by a subscriber after commit_batch; a batch the ring cannot
// hold at once is refused whole (nothing claimed, nothing counted).
TEST(Batch, PublicationClaimsAndCommitsABatchOnItsOwnRing) {
  Bus bus({.ring = {.capacity = 1 << 14, .max_event_size = 1024}});
  auto sub = bus.subscribe();
  Publication pub = bus.publication();
  ASSERT_TRUE(pub.valid());
  std::vector<ClaimRequest> requests(
      6, {.type = EventType::trading_signal, .source = "p", .data_size = 8, .metadata_size = 2});
  std::vector<Claim> claims(requests.size());
  ASSERT_EQ(pub.try_claim_batch(requests, claims), PublishStatus::ok);
  for (std::size_t i = 0; i < claims.size(); ++i) {
    const std::string data = "{\"i\": " + std::to_string(i) + "}";
    std::memcpy(claims[i].data(), data.data(), 8);
    std::memcpy(claims[i].metadata(), "{}", 2);
  }
  std::vector<std::string> seen;
  auto collect = [&](const EventView& e, bool) { seen.emplace_back(e.data()); };
  EXPECT_EQ(sub.poll(collect), 0u);
  pub.commit_batch(claims);
  EXPECT_EQ(sub.poll(collect), 6u);
  EXPECT_EQ(seen.front(), "{\"i\": 0}");
  EXPECT_EQ(seen.back(), "{\"i\": 5}");
  EXPECT_EQ(bus.published(EventType::trading_signal), 6u);
  EXPECT_EQ(bus.ring().tail(), 0u) << "nothing went through the bus's own ring";

  const std::vector<ClaimRequest> too_many(
      200, {.type = EventType::trading_signal, .source = "p", .data_size = 8, .metadata_size = 2});
  std::vector<Claim> more(too_many.size());
  EXPECT_EQ(pub.try_claim_batch(too_many, more), PublishStatus::too_large);
  for (const Claim& c : more) EXPECT_FALSE(c.active());
  EXPECT_EQ(bus.published(EventType::trading_signal), 6u);
}

}  // namespace
}  // namespace tradpal
