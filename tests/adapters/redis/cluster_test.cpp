// The Redis adapter on a Redis Cluster: hash slots, partition names and
// keys, redirects, and persisters writing partitioned streams to a real
// cluster (3 masters + 3 replicas) through failover and slot migration.
#include <gtest/gtest.h>

#include <simdjson.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/redis/cluster_redirect.h"
#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/event_store.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/partitioned_persister.h"
#include "adapters/redis/partitioned_stream_tail.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/remote_subscription.h"
#include "adapters/redis/slot_map.h"
#include "adapters/redis/sync_client.h"
#include "continuous_publisher.h"
#include "redis_cluster.h"
#include "test_support.h"

extern char** environ;

namespace tradpal::redis {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::RedisCluster;

// ---- slots, names and keys (no Redis) ---------------------------------------

TEST(KeySlot, MatchesRedisClusterForKnownKeys) {
  // Values as `CLUSTER KEYSLOT` answers them.
  EXPECT_EQ(key_slot("123456789"), 12739);  // CRC16/XMODEM check value 0x31C3
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
  // A hash tag hashes alone; an empty one does not count.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("{user1000}.following"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
}

TEST(Partitioning, OnePartitionIsThePlainStream) {
  const Partitioning p("tradpal_events", {});
  ASSERT_EQ(p.count(), 1u);
  EXPECT_EQ(p.stream(0), "tradpal_events");
  EXPECT_EQ(p.partition_of_key("AAPL"), 0u);
}

TEST(Partitioning, PartitionStreamsSpreadOverTheSlotSpaceAndAreStable) {
  for (const std::size_t n : {2u, 3u, 6u, 16u, 100u}) {
    const Partitioning p("tradpal_events", {.count = n});
    std::set<std::string> names(p.streams().begin(), p.streams().end());
    ASSERT_EQ(names.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint16_t slot = key_slot(p.stream(i));
      EXPECT_GE(slot, i * 16384 / n) << p.stream(i);
      EXPECT_LT(slot, (i + 1) * 16384 / n) << p.stream(i);
      EXPECT_TRUE(p.stream(i).starts_with("tradpal_events:{p" + std::to_string(i)));
    }
    // The same count gives the same names in every process.
    EXPECT_EQ(Partitioning("tradpal_events", {.count = n}).streams(), p.streams());
  }
}

TEST(Partitioning, KeysMapByFnv1aAndFallBackToTheType) {
  const Partitioning p("s", {.count = 7});
  // FNV-1a-64("AAPL") mod 7, computed by hand from the published constants.
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : std::string("AAPL")) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  EXPECT_EQ(p.partition_of_key("AAPL"), h % 7);
  EXPECT_EQ(p.partition_of("market_data_update", "feed", R"({"symbol": "AAPL", "price": 1})", "{}"), h % 7);
  // No symbol, a symbol of another kind, unreadable data: the type decides.
  const std::size_t by_type = p.partition_of_key("risk_alert");
  EXPECT_EQ(p.partition_of("risk_alert", "risk", R"({"level": 3})", "{}"), by_type);
  EXPECT_EQ(p.partition_of("risk_alert", "risk", R"({"symbol": [1]})", "{}"), by_type);
  EXPECT_EQ(p.partition_of("risk_alert", "risk", R"({"symbol": )", "{}"), by_type);
  // A number is keyed by its literal.
  EXPECT_EQ(p.partition_of("order_placed", "oms", R"({"symbol": 42})", "{}"), p.partition_of_key("42"));
}

TEST(Partitioning, ConfigurableKeys) {
  const Partitioning by_source("s", {.count = 5, .key = "source"});
  EXPECT_EQ(by_source.partition_of("order_placed", "oms-3", "{}", "{}"), by_source.partition_of_key("oms-3"));
  const Partitioning by_account("s", {.count = 5, .key = "metadata.account.id"});
  EXPECT_EQ(by_account.partition_of("order_placed", "oms", "{}", R"({"account": {"id": "ACC-9"}})"),
            by_account.partition_of_key("ACC-9"));
  const Partitioning by_type("s", {.count = 5, .key = "type"});
  EXPECT_EQ(by_type.partition_of("order_placed", "oms", R"({"symbol": "X"})", "{}"),
            by_type.partition_of_key("order_placed"));
}

TEST(Partitioning, BadSettingsAreRefusedWithAReason) {
  EXPECT_THROW(Partitioning("s", {.count = 0}), ConfigError);
  EXPECT_THROW(Partitioning("s", {.count = 5000}), ConfigError);
  EXPECT_THROW(Partitioning("s", {.count = 2, .key = "symbol"}), ConfigError);
  EXPECT_THROW(Partitioning("s", {.count = 2, .key = "data."}), ConfigError);
  EXPECT_THROW(Partitioning("s", {.count = 2, .key = "data.a..b"}), ConfigError);
  EXPECT_THROW(Partitioning("{s}", {.count = 2}), ConfigError);
  EXPECT_NO_THROW(Partitioning("{s}", {.count = 1}));
}

TEST(ClusterRedirect, ParsesMovedAndAskAndTellsPassingStates) {
  const auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->node, (Endpoint{"127.0.0.1", 6381}));
  const auto ask = parse_redirect("ASK 12 ::1:7002");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::ask);
  EXPECT_EQ(ask->node, (Endpoint{"::1", 7002}));
  const auto unknown = parse_redirect("MOVED 5 ?:7003");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->node.host, "");
  EXPECT_FALSE(parse_redirect("MOVED 99999 h:1"));
  EXPECT_FALSE(parse_redirect("MOVED 5 h"));
  EXPECT_FALSE(parse_redirect("ERR wrong number of arguments"));
  EXPECT_TRUE(is_transient_cluster_error("CLUSTERDOWN The cluster is down"));
  EXPECT_TRUE(is_transient_cluster_error("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(is_transient_cluster_error("WRONGTYPE Operation against a key"));
}

// ---- a real cluster ------------------------------------------------------------

// What a partition stream holds, decoded: (message id, symbol, n, event id).
struct Written {
  std::string id;
  std::string symbol;
  std::int64_t n = -1;
  std::string event_id;
};

std::vector<Written> read_partition(const std::string& url, const std::string& stream) {
  std::vector<Written> out;
  simdjson::dom::parser parser;
  for (const auto& [id, json] : testing::read_stream(url, stream)) {
    Written w;
    w.id = id;
    simdjson::dom::element doc = parser.parse(json);
    w.event_id = std::string(std::string_view(doc["event_id"]));
    simdjson::dom::element data = doc["data"];
    if (auto s = data["symbol"]; !s.error()) w.symbol = std::string(std::string_view(s));
    if (auto n = data["n"]; !n.error()) w.n = std::int64_t(n);
    out.push_back(std::move(w));
  }
  return out;
}

class ClusterTest : public ::testing::Test {
 protected:
  PersisterOptions options(int replicas = 0) {
    PersisterOptions o;
    o.connection = testing::fast_connection(cluster.url());
    o.listener = &tracker;
    o.replicas = replicas;
    return o;
  }

  // Publishes `count` events over `symbols` symbols, each symbol's events
  // numbered 0, 1, 2... in publish order; a ticket per event.
  void publish(int count, int symbols, std::vector<DurabilityTracker::Ticket>* tickets = nullptr) {
    for (int i = 0; i < count; ++i) {
      const int s = i % symbols;
      const std::string data =
          "{\"symbol\": \"S" + std::to_string(s) + "\", \"n\": " + std::to_string(next_n[s]++) + "}";
      DurabilityTracker::Ticket t;
      if (tickets != nullptr) t = tracker.ticket();
      ASSERT_EQ(bus.publish({.type = EventType::market_data_update, .source = "feed", .data = data,
                             .correlation = t.token}),
                PublishStatus::ok);
      if (tickets != nullptr) tickets->push_back(std::move(t));
    }
  }

  // Every partition read back: each event in the partition its symbol maps
  // to, each symbol's numbers strictly rising in stream order, no event
  // twice. Returns how many events there were.
  std::size_t check_partitions(const Partitioning& p) {
    std::set<std::string> event_ids;
    std::size_t total = 0;
    for (std::size_t i = 0; i < p.count(); ++i) {
      std::map<std::string, std::int64_t> last;
      for (const Written& w : read_partition(cluster.url(), p.stream(i))) {
        EXPECT_EQ(p.partition_of_key(w.symbol), i) << w.symbol << " in " << p.stream(i);
        auto [it, fresh] = last.emplace(w.symbol, w.n);
        if (!fresh) {
          EXPECT_GT(w.n, it->second) << w.symbol << " out of order in " << p.stream(i);
          it->second = w.n;
        }
        EXPECT_TRUE(event_ids.insert(w.event_id).second) << "event " << w.event_id << " written twice";
        ++total;
      }
    }
    return total;
  }

  RedisCluster cluster;
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{1} << 22}}};
  IoThread io;
  DurabilityTracker tracker;
  std::map<int, std::int64_t> next_n;
};

TEST_F(ClusterTest, PartitionsSpreadOverTheMastersAndKeepEachKeysOrder) {
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 6});
  // Two partitions on each of the three masters.
  std::map<int, int> per_master;
  for (const auto& s : partitioning->streams()) ++per_master[cluster.master_of(key_slot(s))];
  EXPECT_EQ(per_master.size(), 3u);
  for (const auto& [port, n] : per_master) EXPECT_EQ(n, 2) << "master " << port;

  PartitionedPersister persister(bus, io, partitioning, options());
  std::vector<DurabilityTracker::Ticket> tickets;
  publish(30000, 50, &tickets);
  for (auto& t : tickets) {
    ASSERT_EQ(t.message_id.wait_for(20s), std::future_status::ready);
    EXPECT_FALSE(t.message_id.get().empty());
  }
  ASSERT_TRUE(persister.wait_idle(10s));
  EXPECT_EQ(persister.persisted(), 30000u);
  EXPECT_EQ(check_partitions(*partitioning), 30000u);
  // Each partition's persister writes to the master of its stream's slot
  // (found through the slot map or a redirect).
  for (std::size_t i = 0; i < partitioning->count(); ++i) {
    EXPECT_EQ(persister.partition(i).health().node,
              "redis://127.0.0.1:" + std::to_string(cluster.master_of(key_slot(partitioning->stream(i)))));
  }
  EXPECT_TRUE(persister.health().connected);
}

// A connection with a route key asks CLUSTER SLOTS once connected and goes
// straight to its slot's master; the map it fills is the process's, so the
// next connection to the cluster goes there without a detour, and after a
// failover the map names the promoted master.
TEST_F(ClusterTest, ConnectionsRouteByTheSharedSlotMapAndItFollowsAFailover) {
  const int seed = cluster.ports().front();
  auto stream_on = [&](auto&& wanted) {
    for (int i = 0;; ++i) {
      const std::string name = "routed-" + std::to_string(i);
      if (wanted(cluster.master_of(key_slot(name)))) return name;
    }
  };
  const std::string a = stream_on([&](int m) { return m != seed; });
  const int master_a = cluster.master_of(key_slot(a));
  const std::string b = stream_on([&](int m) { return m != seed && m != master_a; });
  const int master_b = cluster.master_of(key_slot(b));
  auto options_for = [&](const std::string& stream) {
    PersisterOptions o;
    o.connection = testing::fast_connection(cluster.url());
    o.stream = stream;
    return o;
  };
  const auto map = SlotMap::for_cluster(RedisUrl::parse(cluster.url()));
  EXPECT_FALSE(map->owner(key_slot(a)).has_value()) << "a new cluster is unknown";

  Persister pa(bus, io, options_for(a));
  ASSERT_TRUE(eventually([&] { return pa.health().connected; }, 10s));
  EXPECT_EQ(pa.health().node, "redis://127.0.0.1:" + std::to_string(master_a));
  EXPECT_EQ(pa.health().redirects, 1u) << "from the first seed to the slot's master, before any command";
  EXPECT_GE(map->loads(), 1u);
  for (const int m : cluster.masters()) {
    // Every master's slots are known now, not only the one asked for.
    bool found = false;
    for (int slot = 0; slot < kClusterSlots && !found; ++slot) {
      found = map->owner(static_cast<std::uint16_t>(slot)) == Endpoint{"127.0.0.1", m};
    }
    EXPECT_TRUE(found) << "master " << m;
  }

  Persister pb(bus, io, options_for(b));
  ASSERT_TRUE(eventually([&] { return pb.health().connected; }, 10s));
  EXPECT_EQ(pb.health().node, "redis://127.0.0.1:" + std::to_string(master_b));
  EXPECT_EQ(pb.health().redirects, 0u) << "the map sent it straight there";

  for (int i = 0; i < 50; ++i) ASSERT_EQ(bus.publish({.type = EventType::risk_alert, .data = "{}"}), PublishStatus::ok);
  ASSERT_TRUE(eventually([&] { return pa.persisted() == 50 && pb.persisted() == 50; }, 10s));
  cluster.kill_master_of(key_slot(b));
  ASSERT_TRUE(eventually([&] { return cluster.master_of(key_slot(b)) != master_b; }, 30s));
  const int promoted = cluster.master_of(key_slot(b));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(bus.publish({.type = EventType::risk_alert, .data = "{}"}), PublishStatus::ok);
  ASSERT_TRUE(eventually([&] { return pb.persisted() >= 100; }, 30s)) << pb.health().last_error;
  EXPECT_EQ(pb.health().node, "redis://127.0.0.1:" + std::to_string(promoted));
  EXPECT_EQ(map->owner(key_slot(b)), (Endpoint{"127.0.0.1", promoted})) << "the map follows the failover";
  EXPECT_EQ(pa.persisted(), 100u);
  pa.stop();
  pb.stop();
}

TEST_F(ClusterTest, ReadsMergeEveryPartitionByStreamId) {
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 3});
  PartitionedPersister persister(bus, io, partitioning, options());
  publish(2500, 20);
  // Some of another type, to filter on.
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(bus.publish({.type = EventType::risk_alert, .source = "risk", .data = "{\"level\": 1}"}),
              PublishStatus::ok);
  }
  ASSERT_TRUE(persister.wait_idle(20s));

  // The reference: every partition read raw, merged by id.
  std::vector<std::pair<StreamId, std::string>> all;
  for (const auto& stream : partitioning->streams()) {
    for (const auto& [id, json] : testing::read_stream(cluster.url(), stream)) {
      all.emplace_back(*StreamId::parse(id), testing::event_id_of(json));
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  ASSERT_EQ(all.size(), 3000u);

  EventStoreOptions so;
  so.url = RedisUrl::parse(cluster.url());
  so.partitioning = partitioning;
  so.page_size = 128;  // many pages per partition
  EventStore store(so);
  EXPECT_EQ(store.length(), 3000u);
  EXPECT_EQ(store.last_id(), all.back().first);

  // The most recent 100, oldest first.
  const auto recent = store.get_events(EventTypeSet::all(), std::nullopt, std::nullopt, 100);
  ASSERT_EQ(recent.size(), 100u);
  for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(recent[i].event.event_id.to_string(), all[2900 + i].second) << i;

  // A replay sees every event once, in id order; a type filter holds.
  std::vector<std::string> replayed;
  StreamId previous{};
  EXPECT_EQ(store.replay(EventTypeSet::all(), std::nullopt, std::nullopt,
                         [&](const StoredEvent& e) {
                           const StreamId id = *StreamId::parse(e.id);
                           EXPECT_LE(previous, id);
                           previous = id;
                           replayed.push_back(e.event.event_id.to_string());
                         }),
            3000u);
  ASSERT_EQ(replayed.size(), 3000u);
  for (std::size_t i = 0; i < 3000; ++i) EXPECT_EQ(replayed[i], all[i].second) << i;
  EXPECT_EQ(store.replay(EventTypeSet{EventType::risk_alert}, std::nullopt, std::nullopt, [](const StoredEvent& e) {
    EXPECT_EQ(e.event.type, EventType::risk_alert);
  }),
            500u);

  // Paging with read_after covers everything exactly once, in order.
  std::vector<std::string> paged;
  StreamId cursor{};
  for (int pages = 0; pages < 1000; ++pages) {
    EventPage page = store.read_after(cursor, EventTypeSet::all(), 77, 200);
    for (const auto& e : page.events) paged.push_back(e.event.event_id.to_string());
    ASSERT_TRUE(page.last);
    cursor = *page.last;
    if (!page.more) break;
  }
  ASSERT_EQ(paged.size(), 3000u);
  for (std::size_t i = 0; i < 3000; ++i) EXPECT_EQ(paged[i], all[i].second) << i;

  // Stats add up; a group made on the store is on every partition.
  store.ensure_group("readers", "0");
  const StreamStats stats = store.stats();
  EXPECT_TRUE(stats.exists);
  EXPECT_EQ(stats.length, 3000u);
  ASSERT_TRUE(stats.first_entry && stats.last_entry);
  EXPECT_EQ(*StreamId::parse(stats.first_entry->id), all.front().first);
  EXPECT_EQ(*StreamId::parse(stats.last_entry->id), all.back().first);
  ASSERT_EQ(stats.groups.size(), 1u);
  EXPECT_EQ(stats.groups[0].name, "readers");
  ASSERT_TRUE(stats.groups[0].lag);
  EXPECT_EQ(*stats.groups[0].lag, 3000u);
}

// Continuous publishing over `symbols` symbols, each symbol's events
// numbered 0, 1, 2... in publish order.
testing::ContinuousPublisher::Data numbered(int symbols) {
  return [symbols](std::uint64_t k) {
    return "{\"symbol\": \"S" + std::to_string(k % symbols) + "\", \"n\": " + std::to_string(k / symbols) + "}";
  };
}

// Every partition read back, for testing::expect_exactly_once.
void expect_exactly_once(RedisCluster& cluster, const Partitioning& p, const std::map<std::string, std::string>& acked,
                         std::uint64_t published) {
  std::vector<std::pair<std::string, std::string>> written;
  for (const auto& stream : p.streams()) {
    for (const Written& w : read_partition(cluster.url(), stream)) written.emplace_back(w.id, w.event_id);
  }
  testing::expect_exactly_once(written, acked, published);
}

TEST_F(ClusterTest, KillNineOfAMasterWithReplicatedAcksLosesAndDuplicatesNothing) {
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 3});
  PartitionedPersister persister(bus, io, partitioning, options(/*replicas=*/1));
  testing::ContinuousPublisher publisher(bus, tracker, numbered(30));
  ASSERT_TRUE(eventually([&] { return publisher.acked() > 2000; }, 20s));
  const int killed = cluster.kill_master_of(key_slot(partitioning->stream(0)));
  const auto acked_at_kill = publisher.acked();
  // The replica takes over; the partition's persister finds it through the
  // surviving nodes and goes on.
  ASSERT_TRUE(eventually([&] { return cluster.master_of(key_slot(partitioning->stream(0))) != killed; }, 30s));
  // With every replica acknowledgement counted, the promoted master holds
  // acknowledgements until it has a replica again: the killed node comes
  // back (as a replica of the new master), as an operator would bring it.
  std::this_thread::sleep_for(500ms);
  cluster.node_at(killed).start();
  ASSERT_TRUE(cluster.wait_healthy(30s, 1));
  ASSERT_TRUE(eventually([&] { return publisher.acked() > acked_at_kill + 3000; }, 30s));
  publisher.stop();
  ASSERT_TRUE(persister.wait_idle(20s));
  EXPECT_EQ(tracker.pending(), 0u);
  expect_exactly_once(cluster, *partitioning, publisher.acked_ids(), publisher.published());
  check_partitions(*partitioning);
  std::printf("failover: %llu recovered, %llu redirects, %llu short WAITs\n",
              static_cast<unsigned long long>(persister.health().recovered),
              static_cast<unsigned long long>(persister.health().redirects),
              static_cast<unsigned long long>(persister.health().replica_waits));
}

TEST_F(ClusterTest, SlotMigrationDuringPublishingLosesAndDuplicatesNothing) {
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 3});
  PartitionedPersister persister(bus, io, partitioning, options());
  testing::ContinuousPublisher publisher(bus, tracker, numbered(30));
  ASSERT_TRUE(eventually([&] { return publisher.acked() > 2000; }, 20s));
  const std::uint16_t slot = key_slot(partitioning->stream(0));
  const int from = cluster.master_of(slot);
  int to = 0;
  for (const int m : cluster.masters()) {
    if (m != from) to = m;
  }
  const auto redirects_before = persister.health().redirects;
  // Keys moved, slot not yet handed over: writes meet ASK for 300 ms.
  cluster.move_slot(slot, to, 300ms);
  EXPECT_EQ(cluster.master_of(slot), to);
  const auto acked_at_move = publisher.acked();
  ASSERT_TRUE(eventually([&] { return publisher.acked() > acked_at_move + 3000; }, 30s));
  publisher.stop();
  ASSERT_TRUE(persister.wait_idle(20s));
  EXPECT_GT(persister.health().redirects, redirects_before);
  expect_exactly_once(cluster, *partitioning, publisher.acked_ids(), publisher.published());
  check_partitions(*partitioning);
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

pid_t spawn(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = -1;
  if (posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return child;
}

TEST_F(ClusterTest, TwoProcessesInOneGroupShareEveryPartitionAndHandleEachEntryOnce) {
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 3});
  EventStoreOptions so;
  so.url = RedisUrl::parse(cluster.url());
  so.partitioning = partitioning;
  EventStore store(so);
  store.ensure_group("workers", "$");
  const std::string dir = cluster.node(0).dir();
  const std::string log_a = dir + "/worker-a.log";
  const std::string log_b = dir + "/worker-b.log";
  const pid_t a = spawn({REDIS_CONSUMER_CHILD, cluster.url(), "tradpal_events", "workers", "a", log_a, "0", "3"});
  const pid_t b = spawn({REDIS_CONSUMER_CHILD, cluster.url(), "tradpal_events", "workers", "b", log_b, "0", "3"});
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  PartitionedPersister persister(bus, io, partitioning, options());
  publish(3000, 40);
  ASSERT_TRUE(persister.wait_idle(20s));
  const bool all_handled =
      eventually([&] { return read_lines(log_a).size() + read_lines(log_b).size() >= 3000; }, 30s);
  std::this_thread::sleep_for(300ms);  // anything handled twice would show now
  ::kill(a, SIGKILL);
  ::kill(b, SIGKILL);
  ::waitpid(a, nullptr, 0);
  ::waitpid(b, nullptr, 0);
  ASSERT_TRUE(all_handled);
  std::map<std::string, int> handled;
  std::size_t by_a = 0;
  for (const std::string& log : {log_a, log_b}) {
    for (const std::string& line : read_lines(log)) {
      ++handled[line.substr(line.find(' ') + 1)];
      if (log == log_a) ++by_a;
    }
  }
  EXPECT_EQ(handled.size(), 3000u);
  for (const auto& [event_id, times] : handled) EXPECT_EQ(times, 1) << event_id;
  EXPECT_GT(by_a, 0u) << "one process took everything";
  EXPECT_LT(by_a, 3000u) << "one process took everything";
  std::printf("worker a handled %zu, worker b %zu\n", by_a, 3000 - by_a);
}

// The plain stream on a cluster: an entry no reader can decode goes to
// "{tradpal_events}:dead", in the stream's slot, so the dead letter and the
// XACK pipelined after it both land (in another slot the XADD met MOVED
// while the XACK went through, and the entry was gone).
TEST_F(ClusterTest, DeadLettersOfThePlainStreamStayInItsSlot) {
  EventStore store({.url = RedisUrl::parse(cluster.url())});
  store.ensure_group("workers", "0");
  RemoteSubscriptionOptions o;
  o.connection = testing::fast_connection(cluster.url());
  o.group = "workers";
  o.consumer = "c";
  o.block = 200ms;
  RemoteSubscription sub(io, o);
  std::atomic<int> handled{0};
  sub.on_any([&](const StoredEvent&) {
    ++handled;
    return true;
  });
  sub.start();
  ASSERT_TRUE(eventually([&] { return sub.connected(); }, 10s));
  SyncClient client(RedisUrl::parse(cluster.url()));
  const auto poison = client.checked({"XADD", "tradpal_events", "*", "event", "{not json"});
  ASSERT_TRUE(eventually([&] { return sub.dead_lettered() == 1; }, 10s));
  EXPECT_EQ(key_slot("{tradpal_events}:dead"), key_slot("tradpal_events"));
  ASSERT_TRUE(eventually(
      [&] { return client.checked({"XLEN", "{tradpal_events}:dead"})->integer == 1; }, 10s))
      << "the dead letter never landed";
  const auto dead = client.checked({"XRANGE", "{tradpal_events}:dead", "-", "+"});
  ASSERT_EQ(dead->elements, 1u);
  auto fields = testing::entry_fields(dead->element[0]);
  EXPECT_EQ(fields["original_id"], std::string(poison->str, poison->len));
  EXPECT_EQ(fields["event"], "{not json");
  EXPECT_TRUE(eventually([&] { return client.checked({"XPENDING", "tradpal_events", "workers"})->element[0]->integer == 0; },
                         5s));
  EXPECT_EQ(handled.load(), 0);
}

TEST(ClusterOptions, ADeadLetterStreamInAnotherSlotIsRefused) {
  IoThread io;
  RemoteSubscriptionOptions o;
  o.connection.url = RedisUrl::parse("redis+cluster://127.0.0.1:1");
  o.group = "g";
  o.consumer = "c";
  o.dead_letter_stream = "dead_letters";
  try {
    RemoteSubscription sub(io, o);
    ADD_FAILURE() << "accepted a dead-letter stream in another slot";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("hash slot"), std::string::npos) << e.what();
  }
  o.dead_letter_stream = "{tradpal_events}:poison";
  EXPECT_NO_THROW(RemoteSubscription(io, o));
}

TEST_F(ClusterTest, TailFollowsEveryPartitionInOrderAndResumesFromItsCursor) {
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 3});
  PartitionedPersister persister(bus, io, partitioning, options());
  IoThread tail_io;
  StreamTailOptions to;
  to.connection = testing::fast_connection(cluster.url());
  to.start = TailStart::beginning();
  std::mutex m;
  std::vector<std::pair<std::size_t, std::string>> seen;  // (partition, data)
  std::vector<StreamId> last(3);
  bool in_order = true;
  auto record = [&](std::size_t p, const TailEntry& e) {
    std::lock_guard lock(m);
    if (!(last[p] < e.id)) in_order = false;
    last[p] = e.id;
    seen.emplace_back(p, std::string(e.event.data));
  };
  PartitionedStreamTail::Cursor cursor;
  {
    PartitionedStreamTail tail(tail_io, partitioning, to);
    tail.on_entry(record);
    tail.start();
    publish(1500, 30);
    ASSERT_TRUE(persister.wait_idle(20s));
    ASSERT_TRUE(eventually([&] { return tail.delivered() >= 1500; }, 20s));
    tail.stop();
    cursor = tail.position();
  }
  {
    std::lock_guard lock(m);
    EXPECT_TRUE(in_order);
    ASSERT_EQ(seen.size(), 1500u);
    simdjson::dom::parser parser;
    for (const auto& [p, data] : seen) {
      const std::string symbol(std::string_view(parser.parse(data)["symbol"]));
      EXPECT_EQ(partitioning->partition_of_key(symbol), p) << symbol;
    }
    seen.clear();
  }
  // The cursor as text and back; a tail started after it gets only what follows.
  const std::string text = PartitionedStreamTail::format_cursor(cursor);
  EXPECT_EQ(std::count(text.begin(), text.end(), ','), 2) << text;
  ASSERT_EQ(PartitionedStreamTail::parse_cursor(text), cursor);
  EXPECT_THROW((void)PartitionedStreamTail::parse_cursor("1-0,x"), ConfigError);
  publish(600, 30);
  ASSERT_TRUE(persister.wait_idle(20s));
  PartitionedStreamTail resumed(tail_io, partitioning, to, PartitionedStreamTail::parse_cursor(text));
  resumed.on_entry(record);
  resumed.start();
  ASSERT_TRUE(eventually([&] { return resumed.delivered() >= 600; }, 20s));
  std::this_thread::sleep_for(200ms);
  resumed.stop();
  std::lock_guard lock(m);
  EXPECT_EQ(seen.size(), 600u);
  EXPECT_TRUE(in_order);
}

// AUTH goes to every node a connection is redirected to; a wrong password
// is reported as such, and neither ever appears in what is logged or shown.
TEST(ClusterAuth, CredentialsReachEveryNodeAndNeverShow) {
  const std::string password = "s3cr3t-pw";
  RedisCluster cluster(RedisCluster::Options{.masters = 3, .replicas = 0, .password = password});
  Bus bus{BusOptions{.ring = {.capacity = std::size_t{1} << 22}}};
  IoThread io;
  DurabilityTracker tracker;
  auto partitioning = std::make_shared<const Partitioning>("tradpal_events", PartitionOptions{.count = 3});
  PersisterOptions o;
  o.connection = testing::fast_connection(cluster.url());
  o.listener = &tracker;
  PartitionedPersister persister(bus, io, partitioning, o);
  std::vector<DurabilityTracker::Ticket> tickets;
  for (int i = 0; i < 900; ++i) {
    auto t = tracker.ticket();
    const std::string data = "{\"symbol\": \"S" + std::to_string(i % 30) + "\"}";
    ASSERT_EQ(bus.publish({.type = EventType::market_data_update, .data = data, .correlation = t.token}),
              PublishStatus::ok);
    tickets.push_back(std::move(t));
  }
  for (auto& t : tickets) {
    ASSERT_EQ(t.message_id.wait_for(20s), std::future_status::ready);
    EXPECT_FALSE(t.message_id.get().empty());
  }
  // Each partition authenticated on the master of its stream (found through
  // the slot map or a redirect): credentials reached every master.
  std::set<std::string> nodes;
  for (std::size_t i = 0; i < partitioning->count(); ++i) {
    const std::string node = persister.partition(i).health().node;
    EXPECT_EQ(node, "redis://:***@127.0.0.1:" + std::to_string(cluster.master_of(key_slot(partitioning->stream(i)))));
    nodes.insert(node);
  }
  EXPECT_EQ(nodes.size(), 3u) << "the 3 partitions live on the 3 masters";
  EventStoreOptions so;
  so.url = RedisUrl::parse(cluster.url());
  so.partitioning = partitioning;
  EXPECT_EQ(EventStore(so).length(), 900u);

  std::string wrong = cluster.url();
  wrong.replace(wrong.find(password), password.size(), "wrong-pw");
  PersisterOptions bad;
  bad.connection = testing::fast_connection(wrong);
  Bus other{BusOptions{.ring = {.capacity = std::size_t{1} << 20}}};
  Persister refused(other, io, bad);
  ASSERT_TRUE(eventually([&] { return refused.health().failures > 0; }, 10s));
  const PersisterHealth h = refused.health();
  EXPECT_NE(h.last_error.find("authentication failed"), std::string::npos) << h.last_error;
  EXPECT_FALSE(h.connected);
  for (const std::string& text : {h.last_error, h.node, persister.health().last_error, persister.health().node}) {
    EXPECT_EQ(text.find("wrong-pw"), std::string::npos) << text;
    EXPECT_EQ(text.find(password), std::string::npos) << text;
  }
  try {
    SyncClient c(RedisUrl::parse(wrong), 500ms);
    ADD_FAILURE() << "a wrong password connected";
  } catch (const RedisError& e) {
    EXPECT_EQ(std::string(e.what()).find("wrong-pw"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("authentication"), std::string::npos) << e.what();
  }
}

TEST_F(ClusterTest, SyncClientFollowsRedirectsAndFindsTheClusterThroughAnySeed) {
  const std::string key = "tradpal_events:{p1}";
  SyncClient client(RedisUrl::parse(cluster.url()));
  // Whichever node it started on, the write lands on the slot's master.
  auto r = client.command({"XADD", key, "*", "event", "{}"});
  ASSERT_EQ(r->type, REDIS_REPLY_STRING) << (r->str != nullptr ? r->str : "");
  EXPECT_EQ(client.where(), "redis://127.0.0.1:" + std::to_string(cluster.master_of(key_slot(key))));
  auto len = client.command({"XLEN", key});
  ASSERT_EQ(len->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(len->integer, 1);
  // A URL whose first seeds are gone still reaches the cluster.
  const auto ports = cluster.ports();
  const std::string url = "redis+cluster://127.0.0.1:" + std::to_string(testing::RedisServer::free_port()) +
                          ",127.0.0.1:" + std::to_string(ports.back());
  SyncClient late(RedisUrl::parse(url), 500ms);
  auto len2 = late.command({"XLEN", key});
  ASSERT_EQ(len2->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(len2->integer, 1);

  // While the slot migrates (key moved, slot not yet handed over) the old
  // master answers ASK: the client asks the new one, with ASKING.
  const std::uint16_t slot = key_slot(key);
  const int from = cluster.master_of(slot);
  int to = 0;
  for (const int m : cluster.masters()) {
    if (m != from) to = m;
  }
  std::atomic<bool> handed_over{false};
  std::thread mover([&] {
    cluster.move_slot(slot, to, 1500ms);
    handed_over = true;
  });
  ASSERT_TRUE(eventually(
      [&] {
        auto r = client.command({"XLEN", key});  // stays 1 throughout
        EXPECT_EQ(r->type, REDIS_REPLY_INTEGER) << (r->str != nullptr ? r->str : "");
        return client.where() == "redis://127.0.0.1:" + std::to_string(to);
      },
      5s));
  EXPECT_FALSE(handed_over.load()) << "the client moved only after the hand-over: no ASK was met";
  auto during = client.command({"XADD", key, "*", "event", "{}"});
  EXPECT_EQ(during->type, REDIS_REPLY_STRING) << (during->str != nullptr ? during->str : "");
  mover.join();
  // Handed over: MOVED from wherever the client asks first.
  SyncClient after(RedisUrl::parse(cluster.url()));
  auto len3 = after.command({"XLEN", key});
  ASSERT_EQ(len3->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(len3->integer, 2);
  EXPECT_EQ(after.where(), "redis://127.0.0.1:" + std::to_string(to));
}

}  // namespace
}  // namespace tradpal::redis
