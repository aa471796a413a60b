// Consumer groups against a real redis-server: splitting, crash recovery
// through XAUTOCLAIM, dead letters.
#include "adapters/redis/remote_subscription.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "adapters/redis/event_store.h"
#include "adapters/redis/io_thread.h"
#include "engine/event_json.h"
#include "test_support.h"

extern char** environ;

namespace tradpal::redis {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisServer;

constexpr const char* kStream = "tradpal_events";
constexpr const char* kGroup = "tradpal_consumers";

class RemoteSubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventStore store({.url = RedisUrl::parse(server.url())});
    store.ensure_group(kGroup);
  }
  RemoteSubscriptionOptions options(const std::string& consumer) {
    RemoteSubscriptionOptions o;
    o.connection = testing::fast_connection(server.url());
    o.consumer = consumer;
    o.block = 200ms;
    o.claim_idle = 300ms;
    o.claim_interval = 100ms;
    return o;
  }
  std::vector<std::string> write_events(int n, const std::string& data = "{}") {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      Event e;
      e.type = EventType::order_executed;
      e.event_id = Uuid::generate_v4();
      e.timestamp_ns = now_ns();
      e.source = "exchange";
      e.data = data;
      auto r = client.checked({"XADD", kStream, "*", "event", event_json(e)});
      ids.emplace_back(r->str, r->len);
    }
    return ids;
  }
  std::uint64_t pending_total() {
    auto r = client.checked({"XPENDING", kStream, kGroup});
    return static_cast<std::uint64_t>(r->element[0]->integer);
  }

  RedisServer server;
  SyncClient client{RedisUrl::parse(server.url())};
  IoThread io;
};

TEST_F(RemoteSubscriptionTest, TwoConsumersSplitTheStreamWithNoEventHandledTwice) {
  std::mutex m;
  std::map<std::string, std::vector<std::string>> handled_by;  // id -> consumers
  std::map<std::string, int> per_consumer;
  auto record = [&](const std::string& who) {
    return [&, who](const StoredEvent& e) {
      std::this_thread::sleep_for(200us);
      std::lock_guard lock(m);
      handled_by[e.id].push_back(who);
      ++per_consumer[who];
      return true;
    };
  };
  RemoteSubscription a(io, options("a"));
  RemoteSubscription b(io, options("b"));
  a.on(EventType::order_executed, record("a"));
  b.on_any(record("b"));
  a.start();
  b.start();
  ASSERT_TRUE(eventually([&] { return a.connected() && b.connected(); }, 5s));
  const auto ids = write_events(400);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return handled_by.size() == ids.size();
  }, 20s));
  ASSERT_TRUE(eventually([&] { return pending_total() == 0; }, 5s));
  std::lock_guard lock(m);
  for (const auto& id : ids) {
    ASSERT_EQ(handled_by[id].size(), 1u) << id << " handled " << handled_by[id].size() << " times";
  }
  EXPECT_GT(per_consumer["a"], 0);
  EXPECT_GT(per_consumer["b"], 0);
  EXPECT_EQ(a.handled() + b.handled(), ids.size());
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

TEST_F(RemoteSubscriptionTest, KilledConsumersPendingEntriesAreReclaimedByTheOther) {
  const auto ids = write_events(300);
  const std::string log = server.dir() + "/consumer-a.log";
  std::vector<std::string> args = {REDIS_CONSUMER_CHILD, server.url(), kStream, kGroup, "a", log, "3"};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t child = -1;
  ASSERT_EQ(posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // Kill it mid-batch: after it has handled some, while it is inside a batch.
  ASSERT_TRUE(eventually([&] { return read_lines(log).size() >= 25; }, 20s));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  // What `a` left pending, and what it handled.
  std::set<std::string> pending_a;
  {
    auto r = client.checked({"XPENDING", kStream, kGroup, "-", "+", "1000", "a"});
    for (std::size_t i = 0; i < r->elements; ++i) pending_a.emplace(r->element[i]->element[0]->str);
  }
  const auto handled_a_lines = read_lines(log);
  const std::set<std::string> handled_a(handled_a_lines.begin(), handled_a_lines.end());
  ASSERT_FALSE(pending_a.empty()) << "the child was not killed inside a batch";

  std::mutex m;
  std::multiset<std::string> handled_b;
  RemoteSubscription b(io, options("b"));
  b.on_any([&](const StoredEvent& e) {
    std::lock_guard lock(m);
    handled_b.insert(e.id);
    return true;
  });
  b.start();
  ASSERT_TRUE(eventually([&] { return pending_total() == 0 && b.claimed() >= pending_a.size(); }, 20s));
  std::lock_guard lock(m);
  for (const auto& id : ids) {
    const bool acked_by_a = handled_a.count(id) != 0 && pending_a.count(id) == 0;
    if (acked_by_a) {
      EXPECT_EQ(handled_b.count(id), 0u) << id << " was acknowledged by a and handled again by b";
    } else {
      EXPECT_EQ(handled_b.count(id), 1u) << id << " (pending for a: " << pending_a.count(id) << ")";
    }
  }
  for (const auto& id : pending_a) EXPECT_EQ(handled_b.count(id), 1u) << id;
  EXPECT_GE(b.claimed(), pending_a.size());
}

TEST_F(RemoteSubscriptionTest, PoisonEventMovesToTheDeadLetterStreamAfterNTries) {
  RemoteSubscriptionOptions o = options("solo");
  o.max_deliveries = 3;
  o.claim_idle = 100ms;
  o.claim_interval = 50ms;
  RemoteSubscription sub(io, o);
  std::atomic<int> poison_tries{0};
  std::atomic<int> good{0};
  sub.on_any([&](const StoredEvent& e) -> bool {
    if (e.event.data.find("poison") != std::string::npos) {
      ++poison_tries;
      throw std::runtime_error("cannot handle this one");
    }
    ++good;
    return true;
  });
  sub.start();
  ASSERT_TRUE(eventually([&] { return sub.connected(); }, 5s));
  write_events(5);
  const auto poison = write_events(1, R"({"poison": true})");
  write_events(5);
  ASSERT_TRUE(eventually([&] { return sub.dead_lettered() == 1; }, 10s));
  ASSERT_TRUE(eventually([&] { return pending_total() == 0; }, 5s));
  EXPECT_EQ(poison_tries.load(), 3);
  EXPECT_EQ(good.load(), 10);
  auto dead = client.checked({"XRANGE", std::string(kStream) + ":dead", "-", "+"});
  ASSERT_EQ(dead->elements, 1u);
  auto fields = testing::entry_fields(dead->element[0]);
  EXPECT_EQ(fields["original_id"], poison[0]);
  EXPECT_EQ(fields["deliveries"], "4");
  EXPECT_NE(fields["event"].find("poison"), std::string::npos);
}

TEST_F(RemoteSubscriptionTest, UndecodableEntriesAreCountedAndDeadLettered) {
  RemoteSubscription sub(io, options("solo"));
  std::atomic<int> handled{0};
  sub.on_any([&](const StoredEvent&) {
    ++handled;
    return true;
  });
  sub.start();
  ASSERT_TRUE(eventually([&] { return sub.connected(); }, 5s));
  client.checked({"XADD", kStream, "*", "event", "{not json"});
  client.checked({"XADD", kStream, "*", "payload", "x"});
  write_events(3);
  ASSERT_TRUE(eventually([&] { return handled.load() == 3 && sub.dead_lettered() == 2; }, 10s));
  EXPECT_EQ(sub.skips().count(DecodeError::not_json), 1u);
  EXPECT_EQ(sub.skips().count(DecodeError::missing_field), 1u);
  ASSERT_TRUE(eventually([&] { return pending_total() == 0; }, 5s));
}

TEST_F(RemoteSubscriptionTest, ReceivedEventsReachTheBusMarkedRemote) {
  Bus bus;
  auto local = bus.subscribe();
  RemoteSubscriptionOptions o = options("bridge");
  o.bus = &bus;
  RemoteSubscription sub(io, o);
  sub.start();
  ASSERT_TRUE(eventually([&] { return sub.connected(); }, 5s));
  write_events(7);
  int remote = 0;
  ASSERT_TRUE(eventually([&] {
    local.poll([&](const EventView& v, bool) { remote += v.origin() == EventOrigin::remote ? 1 : 0; });
    return remote == 7;
  }, 10s));
}

}  // namespace
}  // namespace tradpal::redis
