// Integration tests of the Persister against a real redis-server.
#include "adapters/redis/persister.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/stream_id.h"
#include "continuous_publisher.h"
#include "test_support.h"

namespace tradpal::redis {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

constexpr const char* kStream = "tradpal_events";

class PersisterTest : public ::testing::Test {
 protected:
  PersisterOptions options(const std::string& url) {
    PersisterOptions o;
    o.connection = testing::fast_connection(url);
    o.listener = &tracker;
    return o;
  }

  RedisServer server;
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{1} << 20}}};
  IoThread io;
  DurabilityTracker tracker;
};

TEST_F(PersisterTest, PersistsEveryEventAndHandsBackItsMessageId) {
  Persister persister(bus, io, options(server.url()));
  std::vector<DurabilityTracker::Ticket> tickets;
  std::vector<Uuid> ids;
  for (int i = 0; i < 2000; ++i) {
    auto t = tracker.ticket();
    Published p;
    const std::string data = "{\"i\": " + std::to_string(i) + "}";
    ASSERT_EQ(bus.publish({.type = EventType::trading_signal, .source = "bot", .data = data, .correlation = t.token},
                          &p),
              PublishStatus::ok);
    ids.push_back(p.event_id);
    tickets.push_back(std::move(t));
  }
  std::vector<std::string> message_ids;
  for (auto& t : tickets) {
    ASSERT_EQ(t.message_id.wait_for(10s), std::future_status::ready);
    message_ids.push_back(t.message_id.get());
  }
  const auto entries = testing::read_stream(server.url(), kStream);
  ASSERT_EQ(entries.size(), 2000u);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].first, message_ids[i]) << i;
    EXPECT_EQ(testing::event_id_of(entries[i].second), ids[i].to_string()) << i;
  }
  EXPECT_EQ(persister.persisted(), 2000u);
  EXPECT_EQ(tracker.pending(), 0u);
  EXPECT_EQ(persister.health().breaker, BreakerState::closed);
}

// Without a watcher thread the publisher's notify() is what moves events:
// none is written until it comes, and every one after it.
TEST_F(PersisterTest, WithoutARingWatcherPublishersNotifyAndNothingIsLost) {
  PersisterOptions o = options(server.url());
  o.watch_ring = false;
  Persister persister(bus, io, o);
  // Connected first: the connection's readiness takes what waits, too.
  for (int i = 0; i < 1000 && !persister.health().connected; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(persister.health().connected);
  std::this_thread::sleep_for(100ms);
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(bus.publish({.type = EventType::trading_signal, .source = "bot", .data = "{\"i\": " + std::to_string(i) + "}"}),
              PublishStatus::ok);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(persister.persisted(), 0u) << "events were taken with nobody watching or notifying";
  persister.notify();
  ASSERT_TRUE(persister.wait_idle(10s));
  EXPECT_EQ(persister.persisted(), 500u);
  // One notify per publish from another thread, as eventd's loop does.
  std::thread publisher([&] {
    for (int i = 500; i < 3000; ++i) {
      while (bus.try_publish({.type = EventType::trading_signal, .source = "bot", .data = "{\"i\": " + std::to_string(i) + "}"}) !=
             PublishStatus::ok) {
        persister.notify();
        std::this_thread::yield();
      }
      persister.notify();
    }
  });
  publisher.join();
  ASSERT_TRUE(persister.wait_idle(10s));
  EXPECT_EQ(persister.persisted(), 3000u);
  const auto entries = testing::read_stream(server.url(), kStream);
  ASSERT_EQ(entries.size(), 3000u);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    ASSERT_NE(entries[i].second.find("\"i\": " + std::to_string(i) + "}"), std::string::npos) << i;
  }
}

TEST_F(PersisterTest, EventsWithUnreadableJsonAreRefusedNeverAcknowledged) {
  // A bus that checks only the shape (BusOptions::json_check = shape, as
  // eventd's): the persister is then the last line and must hold it.
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{1} << 20}, .json_check = JsonCheck::shape}};
  Persister persister(bus, io, options(server.url()));
  // Each looks like an object (the bus's shape check passes) but no reader
  // could parse it: none may be written or get a message id.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"price": })", "{}"}, {R"({"a": 1}})", "{}"}, {R"({"a": tru})", "{}"}, {"{}", R"({"m": [1,}})"}};
  std::vector<DurabilityTracker::Ticket> refused;
  for (const auto& [data, metadata] : bad) {
    auto t = tracker.ticket();
    ASSERT_EQ(bus.publish({.data = data, .metadata = metadata, .correlation = t.token}), PublishStatus::ok) << data;
    refused.push_back(std::move(t));
  }
  auto good = tracker.ticket();
  ASSERT_EQ(bus.publish({.data = R"({"ok": true})", .correlation = good.token}), PublishStatus::ok);
  for (auto& t : refused) {
    ASSERT_EQ(t.message_id.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(t.message_id.get(), "");
  }
  ASSERT_EQ(good.message_id.wait_for(10s), std::future_status::ready);
  const std::string id = good.message_id.get();
  const auto entries = testing::read_stream(server.url(), kStream);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].first, id);
  EXPECT_EQ(persister.health().refused, bad.size());
  EXPECT_TRUE(persister.wait_idle(5s));
}

TEST_F(PersisterTest, WhatWeWriteIsReadByThePythonReader) {
  PersisterOptions o = options(server.unix_url());  // the unix socket path too
  Persister persister(bus, io, o);
  ASSERT_EQ(bus.publish_market_data("BTC/USDT", R"({"price": 45000.5, "volume": 1e3})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_trading_signal(R"({"symbol": "ETH/USDT", "action": "SELL", "nested": {"a": [1, null]}})"),
            PublishStatus::ok);
  ASSERT_EQ(bus.publish_portfolio_update(R"({"pnl": -12.5})"), PublishStatus::ok);
  ASSERT_EQ(bus.publish_event(EventType::risk_alert, "ris\xc3\xa9k \"svc\"", R"({"text": "caf\u00e9"})",
                              R"({"trace": "x"})"),
            PublishStatus::ok);
  // A timestamp on a whole second: Python writes no fraction, we write six
  // zeros; fromisoformat must read ours too.
  ASSERT_EQ(bus.publish({.type = EventType::system_health, .timestamp_ns = 1'795'968'000'000'000'000}),
            PublishStatus::ok);
  for (std::size_t t = 0; t < kEventTypeCount; ++t) {
    ASSERT_EQ(bus.publish({.type = static_cast<EventType>(t), .source = "all"}), PublishStatus::ok);
  }
  ASSERT_TRUE(persister.wait_idle(10s));
  const auto entries = testing::read_stream(server.url(), kStream);
  ASSERT_EQ(entries.size(), 5 + kEventTypeCount);

  char path[] = "/tmp/tradpal-wire-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    for (const auto& [id, json] : entries) out << json << '\n';
  }
  const std::string command = std::string("python3 ") + TRADPAL_REDIS_TEST_DIR + "/check_wire.py " + path;
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512] = {};
  const bool got = fgets(line, sizeof line, p) != nullptr;
  const int status = pclose(p);
  std::remove(path);
  ASSERT_TRUE(got);
  EXPECT_EQ(status, 0) << line;
  EXPECT_EQ(std::stoul(line), entries.size()) << line;
}

TEST_F(PersisterTest, ReplayedAndRemoteEventsAreNeverWrittenBack) {
  Persister persister(bus, io, options(server.url()));
  ASSERT_EQ(bus.publish({.type = EventType::order_executed, .origin = EventOrigin::replayed}), PublishStatus::ok);
  ASSERT_EQ(bus.publish({.type = EventType::order_executed, .origin = EventOrigin::remote}), PublishStatus::ok);
  ASSERT_EQ(bus.publish({.type = EventType::order_executed, .source = "local"}), PublishStatus::ok);
  ASSERT_TRUE(persister.wait_idle(10s));
  const auto entries = testing::read_stream(server.url(), kStream);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_NE(entries[0].second.find("\"source\": \"local\""), std::string::npos);
  EXPECT_EQ(persister.health().skipped_foreign, 2u);
}

TEST_F(PersisterTest, MaxlenRetentionKeepsTheStreamNearItsBound) {
  PersisterOptions o = options(server.url());
  o.max_length = 100;
  Persister persister(bus, io, o);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(bus.publish({.type = EventType::system_health}), PublishStatus::ok);
  ASSERT_TRUE(persister.wait_idle(10s));
  SyncClient client(RedisUrl::parse(server.url()));
  auto r = client.checked({"XLEN", kStream});
  EXPECT_GE(r->integer, 100);
  EXPECT_LT(r->integer, 1000);  // "~" trims whole nodes (100 entries each)
  EXPECT_EQ(persister.persisted(), 3000u);
}

TEST_F(PersisterTest, MinidRetentionDropsEntriesOlderThanTheAge) {
  SyncClient client(RedisUrl::parse(server.url()));
  // 200 entries from an hour ago, written directly with explicit ids.
  const std::uint64_t old_ms = static_cast<std::uint64_t>(now_ns() / 1'000'000) - 3'600'000;
  for (int i = 0; i < 200; ++i) {
    client.checked({"XADD", kStream, std::to_string(old_ms) + "-" + std::to_string(i + 1), "event", "{}"});
  }
  PersisterOptions o = options(server.url());
  o.max_age = std::chrono::minutes(5);
  Persister persister(bus, io, o);
  // MINID ~ trims whole macro nodes: write enough to close the old node.
  for (int i = 0; i < 300; ++i) ASSERT_EQ(bus.publish({.type = EventType::system_health}), PublishStatus::ok);
  ASSERT_TRUE(persister.wait_idle(10s));
  const auto entries = testing::read_stream(server.url(), kStream);
  std::size_t old = 0;
  for (const auto& [id, json] : entries) old += StreamId::parse(id)->ms == old_ms ? 1 : 0;
  EXPECT_EQ(old, 0u);
  EXPECT_EQ(entries.size(), 300u);
}

using testing::ContinuousPublisher;

void expect_exactly_once(const std::string& url, const std::map<std::string, std::string>& acked,
                         std::uint64_t published) {
  std::vector<std::pair<std::string, std::string>> written;
  for (const auto& [id, json] : testing::read_stream(url, kStream)) written.emplace_back(id, testing::event_id_of(json));
  testing::expect_exactly_once(written, acked, published);
}

TEST_F(PersisterTest, KillNineDuringPublishingLosesAndDuplicatesNoAcknowledgedEvent) {
  Persister persister(bus, io, options(server.url()));
  ContinuousPublisher publisher(bus, tracker);
  ASSERT_TRUE(eventually([&] { return publisher.acked() > 500; }, 10s));
  server.kill9();
  const auto acked_at_kill = publisher.acked();
  ASSERT_TRUE(eventually([&] { return persister.health().failures > 0; }, 5s));
  server.start();  // same directory: the AOF brings back what was acknowledged
  ASSERT_TRUE(eventually([&] { return publisher.acked() > acked_at_kill + 500; }, 15s));
  publisher.stop();
  ASSERT_TRUE(persister.wait_idle(15s));
  EXPECT_EQ(tracker.pending(), 0u);
  expect_exactly_once(server.url(), publisher.acked_ids(), publisher.published());
  std::printf("recovered after restart: %llu\n", static_cast<unsigned long long>(persister.health().recovered));
}

TEST_F(PersisterTest, PausedServerOpensTheBreakerAndResumesWithoutLoss) {
  Persister persister(bus, io, options(server.url()));
  ContinuousPublisher publisher(bus, tracker);
  ASSERT_TRUE(eventually([&] { return publisher.acked() > 200; }, 10s));
  server.pause();
  ASSERT_TRUE(eventually([&] { return persister.health().reply_timeouts > 0; }, 5s));
  ASSERT_TRUE(eventually([&] { return persister.breaker_state() == BreakerState::open; }, 5s));
  const PersisterHealth h = persister.health();
  EXPECT_FALSE(h.connected);
  // The reply timeout says "no reply"; a reconnect attempt to the frozen
  // server may already have replaced it with its own time-out by now.
  EXPECT_TRUE(h.last_error.find("no reply") != std::string::npos ||
              h.last_error.find("timed out") != std::string::npos)
      << h.last_error;
  const auto acked_while_paused = publisher.acked();
  server.resume();
  ASSERT_TRUE(eventually([&] { return publisher.acked() > acked_while_paused + 200; }, 15s));
  EXPECT_EQ(persister.breaker_state(), BreakerState::closed);
  publisher.stop();
  ASSERT_TRUE(persister.wait_idle(15s));
  expect_exactly_once(server.url(), publisher.acked_ids(), publisher.published());
  // The paused server executes the burst it had buffered once it resumes:
  // the persister must have found those entries instead of writing them again.
  std::printf("recovered after resume: %llu\n", static_cast<unsigned long long>(persister.health().recovered));
}

// Replicated acknowledgements on one master with one replica: nothing is
// acknowledged while the replica is frozen (WAIT answers 0 and is asked
// again), everything resumes with it; a frozen master (reply timeouts, a
// reconnect and a recovery scan with WAITs in the pipeline) loses and
// duplicates nothing.
TEST_F(PersisterTest, ReplicatedAcknowledgementsWaitForTheReplicaAndSurvivePauses) {
  RedisServer replica(RedisServer::Options{
      .appendonly = false, .extra_args = {"--replicaof", "127.0.0.1", std::to_string(server.port())}});
  redis::SyncClient admin(redis::RedisUrl::parse(server.url()));
  ASSERT_TRUE(eventually(
      [&] {
        auto r = admin.command({"INFO", "replication"});
        return std::string_view(r->str, r->len).find("state=online") != std::string_view::npos;
      },
      10s));
  PersisterOptions o = options(server.url());
  o.replicas = 1;
  o.replica_timeout = 200ms;
  Persister persister(bus, io, o);
  ContinuousPublisher publisher(bus, tracker);
  ASSERT_TRUE(eventually([&] { return publisher.acked() > 300; }, 10s));

  replica.pause();
  std::this_thread::sleep_for(300ms);  // what was confirmed before the pause has come back
  const auto frozen = publisher.acked();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(publisher.acked(), frozen) << "acknowledged while no replica could have the events";
  EXPECT_GT(persister.health().replica_waits, 0u);
  replica.resume();
  ASSERT_TRUE(eventually([&] { return publisher.acked() > frozen + 300; }, 15s));

  server.pause();
  ASSERT_TRUE(eventually([&] { return persister.health().reply_timeouts > 0; }, 5s));
  const auto paused = publisher.acked();
  server.resume();
  ASSERT_TRUE(eventually([&] { return publisher.acked() > paused + 300; }, 15s));
  publisher.stop();
  ASSERT_TRUE(persister.wait_idle(15s));
  EXPECT_EQ(tracker.pending(), 0u);
  expect_exactly_once(server.url(), publisher.acked_ids(), publisher.published());
  std::printf("replicated: %llu short WAITs, %llu recovered\n",
              static_cast<unsigned long long>(persister.health().replica_waits),
              static_cast<unsigned long long>(persister.health().recovered));
}

// Redis that accepts connections but refuses XADD (the key holds a string;
// an ACL user without XADD): the breaker stays open instead of closing at
// every reconnect, retries slow to the backoff's maximum, the refusal is
// reported, and once fixed every event is written exactly once.
void refusal_is_paced_and_recovers(RedisServer& server, Bus& bus, IoThread& io,
                                   DurabilityTracker& tracker, PersisterOptions o,
                                   const std::function<void(redis::SyncClient&)>& break_it,
                                   const std::function<void(redis::SyncClient&)>& fix_it, const std::string& expect) {
  redis::SyncClient admin(redis::RedisUrl::parse(server.url()));
  break_it(admin);
  Persister persister(bus, io, o);
  ContinuousPublisher publisher(bus, tracker);
  ASSERT_TRUE(eventually([&] { return persister.refusing(); }, 5s));
  const auto attempts_before = persister.health().connect_attempts;
  // Watch for 3 s: the breaker must not read closed at any sample.
  std::size_t closed_samples = 0, samples = 0;
  for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until; ++samples) {
    if (persister.breaker_state() == BreakerState::closed) ++closed_samples;
    EXPECT_TRUE(persister.refusing());
    std::this_thread::sleep_for(20ms);
  }
  const auto attempts = persister.health().connect_attempts - attempts_before;
  EXPECT_EQ(closed_samples, 0u) << "of " << samples << " samples";
  // Backoff max 200 ms here (jittered): some 15 to 30 reconnects in 3 s.
  // Before the fix every reconnect closed the breaker and reset the backoff
  // to 20 ms: well over a hundred.
  EXPECT_LE(attempts, 40u) << "reconnects while refused";
  const PersisterHealth h = persister.health();
  EXPECT_NE(h.last_error.find(expect), std::string::npos) << h.last_error;
  EXPECT_EQ(h.persisted, 0u);
  fix_it(admin);
  ASSERT_TRUE(eventually([&] { return publisher.acked() > 200; }, 15s));
  EXPECT_FALSE(persister.refusing());
  EXPECT_EQ(persister.breaker_state(), BreakerState::closed);
  publisher.stop();
  ASSERT_TRUE(persister.wait_idle(15s));
  EXPECT_EQ(tracker.pending(), 0u);
  expect_exactly_once(server.url(), publisher.acked_ids(), publisher.published());
}

TEST_F(PersisterTest, WrongTypeRefusalKeepsTheBreakerOpenAndRecoversOnceFixed) {
  refusal_is_paced_and_recovers(
      server, bus, io, tracker, options(server.url()),
      [](redis::SyncClient& c) { (void)c.command({"SET", kStream, "not a stream"}); },
      [](redis::SyncClient& c) { (void)c.command({"DEL", kStream}); }, "WRONGTYPE");
}

TEST_F(PersisterTest, AclDenialKeepsTheBreakerOpenAndRecoversOnceGranted) {
  PersisterOptions o = options(server.url());
  o.connection.url.user = "writer";
  o.connection.url.password = "secret-pw";
  refusal_is_paced_and_recovers(
      server, bus, io, tracker, o,
      [](redis::SyncClient& c) {
        (void)c.command({"ACL", "SETUSER", "writer", "on", ">secret-pw", "~*", "+@all", "-xadd"});
      },
      [](redis::SyncClient& c) { (void)c.command({"ACL", "SETUSER", "writer", "+xadd"}); }, "NOPERM");
}

TEST_F(PersisterTest, OutOfMemoryRefusalKeepsTheBreakerOpenAndRecoversOnceRaised) {
  refusal_is_paced_and_recovers(
      server, bus, io, tracker, options(server.url()),
      [](redis::SyncClient& c) {
        (void)c.command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
        (void)c.command({"CONFIG", "SET", "maxmemory", "1"});
      },
      [](redis::SyncClient& c) { (void)c.command({"CONFIG", "SET", "maxmemory", "0"}); }, "OOM");
}

// A burst of large events: the buffer takes no more than its byte budget
// (plus one step of events) at a time, and gives the memory back once Redis
// has them, instead of keeping every slot at its largest size for good.
TEST_F(PersisterTest, LargeEventsAreBoundedByTheByteBudgetAndTheirMemoryIsGivenBack) {
  Bus big{BusOptions{.ring = {.capacity = std::size_t{32} << 20, .max_event_size = std::size_t{1} << 20}}};
  PersisterOptions o = options(server.url());
  o.max_buffered_bytes = std::size_t{4} << 20;
  Persister persister(big, io, o);
  const std::string payload = "{\"blob\": \"" + std::string(std::size_t{512} << 10, 'x') + "\"}";
  std::atomic<bool> done{false};
  std::uint64_t peak = 0;
  std::thread sampler([&] {
    while (!done) {
      peak = std::max<std::uint64_t>(peak, persister.health().slot_bytes);
      std::this_thread::sleep_for(1ms);
    }
  });
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(big.publish({.type = EventType::system_health, .source = "big", .data = payload}), PublishStatus::ok);
  }
  ASSERT_TRUE(persister.wait_idle(30s));
  done = true;
  sampler.join();
  EXPECT_EQ(persister.persisted(), 100u);
  // Budget 4 MiB, then at most one more step of 32 events of ~0.5 MiB:
  // some 20 MiB held (all 100 events, 50 MiB, without the budget).
  EXPECT_LE(peak, std::uint64_t{24} << 20) << "slot memory while writing";
  EXPECT_LT(persister.health().slot_bytes, std::uint64_t{64} << 10) << "slot memory once written";
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(big.publish({.type = EventType::system_health, .source = "small", .data = "{\"i\": 1}"}), PublishStatus::ok);
  }
  ASSERT_TRUE(persister.wait_idle(30s));
  EXPECT_LE(persister.health().slot_bytes, 2100u * Persister::kSlotKeptBytes);
  EXPECT_EQ(testing::read_stream(server.url(), kStream).size(), 2100u);
}

TEST_F(PersisterTest, FullBufferBackPressuresPublishersAndNothingIsLost) {
  Bus small{BusOptions{.ring = {.capacity = std::size_t{64} << 10, .max_event_size = 4096}}};
  PersisterOptions o = options(server.url());
  o.max_buffered = 64;
  Persister persister(small, io, o);
  server.pause();
  std::uint64_t published = 0;
  bool back_pressured = false;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!back_pressured && std::chrono::steady_clock::now() < deadline) {
    const PublishStatus s = small.try_publish({.type = EventType::risk_alert, .data = R"({"x": 1})"});
    if (s == PublishStatus::ok) ++published;
    back_pressured = s == PublishStatus::back_pressured;
  }
  ASSERT_TRUE(back_pressured);
  server.resume();
  ASSERT_TRUE(persister.wait_idle(15s));
  EXPECT_EQ(testing::read_stream(server.url(), kStream).size(), published);
}

TEST(PersisterStartTest, NothingListeningIsReportedWithinTheConnectTimeoutAndRetried) {
  const int port = RedisServer::free_port();
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{1} << 20}}};
  IoThread io;
  PersisterOptions o;
  o.connection = testing::fast_connection("redis://127.0.0.1:" + std::to_string(port));
  const auto started = std::chrono::steady_clock::now();
  Persister persister(bus, io, o);
  ASSERT_TRUE(eventually([&] { return !persister.health().last_error.empty(); }, o.connection.connect_timeout));
  EXPECT_LE(std::chrono::steady_clock::now() - started, o.connection.connect_timeout + 100ms);
  EXPECT_NE(persister.health().last_error.find("refused"), std::string::npos) << persister.health().last_error;
  ASSERT_TRUE(eventually([&] { return persister.health().connect_attempts >= 3; }, 5s));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(bus.publish({.type = EventType::trading_signal}), PublishStatus::ok);
  RedisServer late(RedisServer::Options{.port = port});
  ASSERT_TRUE(persister.wait_idle(10s));
  EXPECT_EQ(testing::read_stream(late.url(), kStream).size(), 10u);
}

TEST(PersisterStartTest, HungServerAtConnectTimesOut) {
  // A listening socket that never accepts: the TCP handshake completes in
  // the kernel, but PING never gets an answer.
  RedisServer server;
  server.pause();
  Bus bus;
  IoThread io;
  PersisterOptions o;
  o.connection = testing::fast_connection(server.url());
  Persister persister(bus, io, o);
  ASSERT_TRUE(eventually([&] { return persister.health().last_error.find("timed out") != std::string::npos; }, 2s))
      << persister.health().last_error;
  EXPECT_EQ(persister.breaker_state(), BreakerState::open);
  server.resume();
  ASSERT_TRUE(eventually([&] { return persister.health().connected; }, 5s));
}

}  // namespace
}  // namespace tradpal::redis

namespace tradpal::redis {
namespace {

// A lifetime bug is stopped at once with a message naming it, not left to
// become a use of a dead loop.
TEST(PersisterLifetime, DestroyingTheIoThreadBeforeItsPersisterAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Bus bus;
        auto io = std::make_unique<IoThread>();
        PersisterOptions o;
        o.connection = testing::fast_connection("redis://127.0.0.1:1");
        [[maybe_unused]] auto* leaked = new Persister(bus, *io, o);
        io.reset();
      },
      "IoThread destroyed while 1 Persister");
}

}  // namespace
}  // namespace tradpal::redis
