// StreamTail against a real redis-server: every entry whoever wrote it, in
// order with its id; the recorded fixtures and edge cases; start positions;
// a bus fed with stream ids; back-pressure; kill -9 and restart with the
// append-only file (no gap, no duplicate); and a bus in this process
// mirroring what another process publishes.
#include "adapters/redis/stream_tail.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/redis/stream_id.h"
#include "engine/event_json.h"
#include "test_support.h"

extern char** environ;

namespace tradpal::redis {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

// What a handler saw, copied out.
struct Seen {
  std::string id;
  EventType type;
  std::string event_id;
  std::string data;
};

class Collector {
 public:
  void attach(StreamTail& tail) {
    tail.on_entry([this](const TailEntry& e) {
      std::lock_guard lock(mutex_);
      EXPECT_EQ(e.id.to_string(), e.id_text);
      seen_.push_back({std::string(e.id_text), e.event.type, e.event.event_id.to_string(), std::string(e.event.data)});
    });
    tail.on_batch([this](std::size_t n) {
      std::lock_guard lock(mutex_);
      batched_ += n;
    });
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::size_t batched() {
    std::lock_guard lock(mutex_);
    return batched_;
  }
  std::vector<std::string> ids() {
    std::vector<std::string> out;
    for (const Seen& s : seen()) out.push_back(s.id);
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<Seen> seen_;
  std::size_t batched_ = 0;
};

class StreamTailTest : public ::testing::Test {
 protected:
  StreamTailOptions options(const std::string& stream, TailStart start) {
    StreamTailOptions o;
    o.connection = testing::fast_connection(server.url());
    o.stream = stream;
    o.start = start;
    o.block = 200ms;
    return o;
  }
  std::string add_event(const std::string& stream, EventType type, int n) {
    Event e;
    e.type = type;
    e.event_id = Uuid::generate_v4();
    e.timestamp_ns = now_ns();
    e.source = "writer";
    e.data = "{\"n\": " + std::to_string(n) + "}";
    auto r = client.command({"XADD", stream, "*", "event", event_json(e)});
    return std::string(r->str, r->len);
  }
  std::vector<std::string> stream_ids(const std::string& stream) {
    std::vector<std::string> out;
    for (const auto& [id, json] : testing::read_stream(server.url(), stream)) out.push_back(id);
    return out;
  }

  RedisServer server;
  SyncClient client{RedisUrl::parse(server.url())};
  IoThread io;
};

TEST_F(StreamTailTest, EveryRecordedEntryArrivesInOrderWithItsId) {
  const auto fixture = testing::load_fixture("tradpal_stream.jsonl");
  StreamTail tail(io, options("tradpal_events", TailStart::latest()));
  Collector c;
  c.attach(tail);
  tail.start();
  // Latest means from where the stream ends once connected: wait for that.
  ASSERT_TRUE(eventually([&] { return tail.position().has_value(); }, 5s));
  for (const auto& e : fixture) testing::add_raw(client, "tradpal_events", e);
  ASSERT_TRUE(eventually([&] { return c.size() == fixture.size(); }, 5s)) << c.size();
  const auto seen = c.seen();
  for (std::size_t i = 0; i < fixture.size(); ++i) {
    EXPECT_EQ(seen[i].id, fixture[i].id);
    const auto json = std::find_if(fixture[i].fields.begin(), fixture[i].fields.end(),
                                   [](const auto& f) { return f.first == "event"; });
    ASSERT_NE(json, fixture[i].fields.end());
    const auto decoded = decode_event_json(json->second);
    ASSERT_TRUE(decoded.has_value()) << fixture[i].id;
    EXPECT_EQ(seen[i].type, decoded->type);
    EXPECT_EQ(seen[i].event_id, decoded->event_id.to_string());
  }
  EXPECT_EQ(tail.skips().total(), 0u);
  EXPECT_EQ(c.batched(), fixture.size());
  EXPECT_EQ(tail.position()->to_string(), fixture.back().id);
}

TEST_F(StreamTailTest, EdgeEntriesAreSkippedCountedAndReadingGoesOn) {
  const auto edge = testing::load_fixture("tradpal_stream_edge.jsonl");
  for (const auto& e : edge) testing::add_raw(client, "edge", e);
  std::vector<std::string> accepted;
  std::size_t skipped = 0;
  for (const auto& e : edge) {
    if (e.expect == "accept") {
      accepted.push_back(e.id);
    } else {
      ++skipped;
    }
  }
  ASSERT_GT(skipped, 0u);
  StreamTail tail(io, options("edge", TailStart::beginning()));
  Collector c;
  c.attach(tail);
  tail.start();
  ASSERT_TRUE(eventually([&] { return c.size() == accepted.size() && tail.skips().total() == skipped; }, 5s))
      << c.size() << " delivered, " << tail.skips().total() << " skipped";
  EXPECT_EQ(c.ids(), accepted);
  // Entries after the bad ones still arrive.
  const std::string later = add_event("edge", EventType::risk_alert, 1);
  ASSERT_TRUE(eventually([&] { return c.size() == accepted.size() + 1; }, 5s));
  EXPECT_EQ(c.ids().back(), later);
}

TEST_F(StreamTailTest, StartsAfterAnIdOrAtATime) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(add_event("s", EventType::system_health, i));
  {
    StreamTail tail(io, options("s", TailStart::after(*StreamId::parse(ids[1]))));
    Collector c;
    c.attach(tail);
    tail.start();
    ASSERT_TRUE(eventually([&] { return c.size() == 3; }, 5s));
    EXPECT_EQ(c.ids(), std::vector<std::string>(ids.begin() + 2, ids.end()));
  }
  {
    // At the millisecond of the third entry: that entry and what follows.
    const StreamId third = *StreamId::parse(ids[2]);
    StreamTail tail(io, options("s", TailStart::at(id_time(third))));
    Collector c;
    c.attach(tail);
    tail.start();
    ASSERT_TRUE(eventually([&] { return c.size() >= 3; }, 5s));
    const auto got = c.ids();
    // Entries sharing the third one's millisecond come too.
    for (const auto& id : got) EXPECT_TRUE(*StreamId::parse(id) >= (StreamId{third.ms, 0})) << id;
    EXPECT_EQ(got.back(), ids.back());
  }
  {
    StreamTail tail(io, options("s", TailStart::latest()));
    Collector c;
    c.attach(tail);
    tail.start();
    ASSERT_TRUE(eventually([&] { return tail.position().has_value(); }, 5s));
    EXPECT_EQ(tail.position()->to_string(), ids.back());
    const std::string next = add_event("s", EventType::system_health, 9);
    ASSERT_TRUE(eventually([&] { return c.size() == 1; }, 5s));
    EXPECT_EQ(c.ids(), std::vector<std::string>{next});
  }
}

TEST_F(StreamTailTest, FeedsABusWhoseSubscribersReadEachStreamId) {
  Bus bus;
  auto sub = bus.subscribe();
  StreamTailOptions o = options("tradpal_events", TailStart::beginning());
  o.bus = &bus;
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(add_event("tradpal_events", EventType::trading_signal, i));
  StreamTail tail(io, o);
  tail.start();
  std::vector<std::string> got;
  ASSERT_TRUE(eventually(
      [&] {
        sub.poll([&](const EventView& v, bool) {
          EXPECT_EQ(v.origin(), EventOrigin::remote);
          EXPECT_EQ(v.type(), EventType::trading_signal);
          EXPECT_EQ(v.data(), "{\"n\": " + std::to_string(got.size()) + "}");
          ASSERT_TRUE(v.stream_id().has_value());
          got.push_back(v.stream_id()->to_string());
        });
        return got.size() == ids.size();
      },
      5s));
  EXPECT_EQ(got, ids);
}

TEST_F(StreamTailTest, ABackPressuredBusStallsTheTailAndLosesNothing) {
  // A ring that holds a few dozen of these events, and a gating subscriber
  // that does not read at first.
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{16} << 10, .max_event_size = 1024}}};
  auto sub = bus.subscribe({.mode = BackPressure::block});
  StreamTailOptions o = options("bp", TailStart::beginning());
  o.bus = &bus;
  o.count = 100;
  std::vector<std::string> ids;
  for (int i = 0; i < 2000; ++i) ids.push_back(add_event("bp", EventType::order_executed, i));
  StreamTail tail(io, o);
  tail.start();
  ASSERT_TRUE(eventually([&] { return tail.back_pressured() > 0; }, 5s));
  std::vector<std::string> got;
  ASSERT_TRUE(eventually(
      [&] {
        sub.poll([&](const EventView& v, bool) { got.push_back(v.stream_id()->to_string()); });
        return got.size() >= ids.size();
      },
      20s))
      << got.size();
  EXPECT_EQ(got, ids);
}

TEST_F(StreamTailTest, KillNineAndRestartResumeWithNoGapAndNoDuplicate) {
  StreamTail tail(io, options("tradpal_events", TailStart::beginning()));
  Collector c;
  c.attach(tail);
  tail.start();
  // A writer that keeps adding through the outage, reconnecting as it can.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> written{0};
  std::thread writer([&] {
    std::unique_ptr<SyncClient> w;
    int n = 0;
    while (!stop) {
      try {
        if (!w) w = std::make_unique<SyncClient>(RedisUrl::parse(server.url()), 200ms);
        Event e;
        e.type = EventType::market_data_update;
        e.event_id = Uuid::generate_v4();
        e.timestamp_ns = now_ns();
        e.data = "{\"n\": " + std::to_string(n++) + "}";
        auto r = w->command({"XADD", "tradpal_events", "*", "event", event_json(e)});
        if (r->type == REDIS_REPLY_STRING) written.fetch_add(1);
      } catch (const std::exception&) {
        w.reset();
        std::this_thread::sleep_for(5ms);
      }
      std::this_thread::sleep_for(200us);
    }
  });
  ASSERT_TRUE(eventually([&] { return c.size() > 300; }, 10s));
  server.kill9();
  ASSERT_TRUE(eventually([&] { return !tail.connected(); }, 5s));
  server.start();  // same directory and port: the AOF brings the entries back
  const std::size_t before = c.size();
  ASSERT_TRUE(eventually([&] { return c.size() > before + 300; }, 15s));
  stop = true;
  writer.join();
  const auto in_stream = stream_ids("tradpal_events");
  ASSERT_TRUE(eventually([&] { return c.size() >= in_stream.size(); }, 10s));
  EXPECT_EQ(c.ids(), in_stream);  // every entry once, in order: no gap, no duplicate
  // The writer's own count can only fall short of the stream (a reply lost
  // with the connection), never exceed it.
  EXPECT_LE(written.load(), in_stream.size());
}

TEST_F(StreamTailTest, ABusHereMirrorsWhatAnotherProcessPublishes) {
  Bus mirror;
  auto sub = mirror.subscribe({.types = {EventType::order_executed}});
  StreamTailOptions o = options("tradpal_events", TailStart::latest());
  o.bus = &mirror;
  StreamTail tail(io, o);
  tail.start();
  ASSERT_TRUE(eventually([&] { return tail.position().has_value(); }, 5s));

  const std::string out = server.dir() + "/published.txt";
  constexpr int kEvents = 500;
  std::vector<std::string> args = {REDIS_PUBLISHER_CHILD, server.url(), "tradpal_events", std::to_string(kEvents),
                                   out};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t child = -1;
  ASSERT_EQ(posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  // What the other process was told: event id -> message id.
  std::map<std::string, std::string> published;
  std::ifstream in(out);
  for (std::string event_id, message_id; in >> event_id >> message_id;) published[event_id] = message_id;
  ASSERT_EQ(published.size(), static_cast<std::size_t>(kEvents));

  std::map<std::string, std::string> mirrored;
  std::vector<int> order;
  ASSERT_TRUE(eventually(
      [&] {
        sub.poll([&](const EventView& v, bool) {
          mirrored[v.event_id().to_string()] = v.stream_id() ? v.stream_id()->to_string() : "";
          order.push_back(std::stoi(std::string(v.data().substr(6))));
        });
        return mirrored.size() >= published.size();
      },
      10s))
      << mirrored.size();
  EXPECT_EQ(mirrored, published);
  for (int i = 0; i < kEvents; ++i) ASSERT_EQ(order[static_cast<std::size_t>(i)], i);
}

}  // namespace
}  // namespace tradpal::redis
