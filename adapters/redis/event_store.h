// adapters/redis/event_store.h
//
// EventStore: reads the TradPal stream back — get_events (GET /events),
// replay (POST /events/replay), stats (GET /events/stats) — and creates
// consumer groups. Synchronous: it runs on the calling thread over a
// blocking SyncClient with timeouts; calls are serialised by a mutex, so any
// thread may use one EventStore (one call at a time goes to Redis). A replay
// longer than one page reads the following pages on a helper thread of its
// own while the calling thread decodes; handlers, progress callbacks and
// publishing still run on the calling thread, in stream order.
//
// Reads page with XRANGE and exclusive starts (`(id`), applying the type
// filter while paging, so `limit` counts matching events. Without a start
// time they return the most recent `limit` matching events (paging back
// with XREVRANGE), always in stream order, oldest first. Times map to ids
// as CONTRACT.md §1 says. Entries that are not TradPal events are skipped
// and counted (skips()), never fatal. Throws RedisError when Redis cannot
// be reached or answers with an error.
//
// Partitioned (options.partitioning with more than one partition, as on a
// Redis Cluster): one reader per partition stream, each on the node that
// holds it, and every read merged by stream id (equal ids: the lower
// partition first), so callers see one stream. Per-key order holds, as each
// key lives in one partition. Stats add up lengths and pending counts;
// groups are matched by name across partitions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/redis_url.h"
#include "adapters/redis/stream_id.h"
#include "adapters/redis/sync_client.h"
#include "engine/bus.h"
#include "engine/event_type.h"
#include "engine/timestamp.h"

namespace tradpal::redis {

struct PageSizer;  // event_store.cpp: how many entries a page asks for

struct EventStoreOptions {
  RedisUrl url;
  std::string stream = "tradpal_events";
  std::chrono::milliseconds timeout{2000};
  std::size_t page_size = 1000;                  // most entries per XRANGE page
  std::size_t max_page_bytes = std::size_t{4} << 20;  // pages shrink below this for large events
  std::size_t max_scan = 100000;                  // get_events reads at most this many entries
  // Partition streams to read as one (replaces `stream` when set).
  std::shared_ptr<const Partitioning> partitioning;
};

// An entry as stored, undecoded: what GET /events/stats shows.
struct RawEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
};

struct GroupStats {
  std::string name;
  std::uint64_t consumers = 0;
  std::uint64_t pending = 0;
  std::string last_delivered_id;
  std::optional<std::uint64_t> lag;  // Redis 7: entries not yet delivered (absent when unknown)
};

struct StreamStats {
  bool exists = false;
  std::uint64_t length = 0;
  std::optional<RawEntry> first_entry;
  std::optional<RawEntry> last_entry;
  std::string last_generated_id;
  std::vector<GroupStats> groups;
};

// One node of a cluster as CLUSTER NODES describes it (GET /health).
struct ClusterNode {
  std::string id;
  std::string node;       // redis://host:port
  std::string role;       // "master" or "replica"
  std::string master_id;  // a replica's master ("" for a master)
  bool connected = false; // the cluster bus link is up
  bool failing = false;   // flagged fail or pfail by the cluster
  std::uint64_t slots = 0;  // slots it serves (masters)
};

// One page of read_after().
struct EventPage {
  std::vector<StoredEvent> events;  // matching events, oldest first
  std::optional<StreamId> last;     // the last entry scanned (matching or not)
  bool more = false;                // the scan stopped at a bound: read on after `last`
};

// Where a replay is; handed to the progress callback after every page.
struct ReplayProgress {
  std::uint64_t replayed = 0;  // events delivered so far
  std::uint64_t scanned = 0;   // entries read (matching or not, decodable or not)
  std::string last_id;
};

class EventStore {
 public:
  using Handler = std::function<void(const StoredEvent&)>;
  using Progress = std::function<void(const ReplayProgress&)>;

  // Connects at once; throws RedisError when it cannot.
  explicit EventStore(EventStoreOptions options);

  // Matching events in stream order. `types` empty: every type. Reads at
  // most options.max_scan entries: a filter that matches nothing costs a
  // bounded read, and `*truncated` (when given) says the bound stopped it.
  [[nodiscard]] std::vector<StoredEvent> get_events(EventTypeSet types, std::optional<TimestampNs> start_time,
                                                    std::optional<TimestampNs> end_time, std::size_t limit,
                                                    bool* truncated = nullptr);

  // Matching events after stream id `after` (exclusive), oldest first: at
  // most `limit` of them, scanning at most `max_scan` entries, so a filter
  // that matches nothing still costs a bounded read. Resume with
  // read_after(*page.last, ...) while page.more.
  [[nodiscard]] EventPage read_after(StreamId after, EventTypeSet types, std::size_t limit, std::size_t max_scan);

  // Every matching event in [start, end], oldest first, to `handler`.
  // Returns how many were delivered.
  std::uint64_t replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                       std::optional<TimestampNs> end_time, const Handler& handler,
                       const Progress& progress = {});
  // The same, republished into `bus` with origin replayed (the persister
  // does not write them back). Waits while the bus is back-pressured; stops
  // early if the bus is closed. Returns how many were published.
  std::uint64_t replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                       std::optional<TimestampNs> end_time, Bus& bus, const Progress& progress = {});

  [[nodiscard]] StreamStats stats();
  // The id of the stream's last entry now (0-0 when it is empty or absent).
  [[nodiscard]] StreamId last_id();
  // The last id of each partition stream now (0-0 for an empty or absent
  // one); one entry when the stream is not partitioned.
  [[nodiscard]] std::vector<StreamId> last_ids();
  // How many partition streams this store reads (1 when not partitioned).
  [[nodiscard]] std::size_t partitions() const noexcept { return parts_.empty() ? 1 : parts_.size(); }
  // read_after() on one partition stream alone (partition 0 of an
  // unpartitioned store is its stream): for a reader that keeps a position
  // per partition, as a stream client's cursor does.
  [[nodiscard]] EventPage read_partition_after(std::size_t partition, StreamId after, EventTypeSet types,
                                               std::size_t limit, std::size_t max_scan);
  // XLEN: entries in the stream now (0 when it does not exist).
  [[nodiscard]] std::uint64_t length();

  // A cluster's nodes as the node this store talks to sees them (CLUSTER
  // NODES); empty for a single node (no redis+cluster:// URL).
  [[nodiscard]] std::vector<ClusterNode> cluster_nodes();

  // XGROUP CREATE <stream> <group> <start> MKSTREAM; an existing group is fine.
  void ensure_group(const std::string& group, const std::string& start_id = "$");

  // Entries skipped as undecodable, over every partition.
  [[nodiscard]] std::uint64_t skipped() const noexcept;
  [[nodiscard]] const SkipCounter& skips() const noexcept { return skips_; }
  [[nodiscard]] const std::string& stream() const noexcept { return options_.stream; }

 private:
  // Pages forward over [start, end] calling visit(const redisReply* entry)
  // for each entry, undecoded, until visit returns false. With read_ahead,
  // pages after the first are read on a helper thread while visit runs on
  // this one. The caller holds the lock.
  template <typename Visit>
  void scan_forward(std::string start, const std::string& end, std::size_t first_count, Visit&& visit,
                    ReplayProgress* progress, const Progress& report, bool read_ahead);
  [[nodiscard]] PageSizer sizer(std::size_t first_count) const noexcept;

  // Partitioned: the merged forms of the reads above.
  std::vector<StoredEvent> merged_events(EventTypeSet types, std::optional<TimestampNs> start_time,
                                         std::optional<TimestampNs> end_time, std::size_t limit, bool* truncated);
  EventPage merged_after(StreamId after, EventTypeSet types, std::size_t limit, std::size_t max_scan);
  std::uint64_t merged_replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                              std::optional<TimestampNs> end_time, const Handler& handler, const Progress& progress);
  StreamStats merged_stats();

  EventStoreOptions options_;
  std::mutex mutex_;
  std::optional<SyncClient> client_;                 // one stream
  std::vector<std::unique_ptr<EventStore>> parts_;   // partitioned: one per partition
  SkipCounter skips_;
};

}  // namespace tradpal::redis
