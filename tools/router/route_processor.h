// tools/router/route_processor.h
//
// RouteProcessor: tradpal-router's work. Reads the source stream (every
// partition) as one consumer of a Redis consumer group, matches each event
// against the rules, writes its copies into their targets (TargetWriter:
// at most once per event id per target), and acknowledges the entries only
// after every copy of the batch is written. So the delivery is at least
// once into Redis and exactly once as the targets hold it (within the
// dedup TTL):
//
//   - a router killed mid-batch leaves its entries pending; another router
//     of the group takes over entries idle longer than claim_idle
//     (XAUTOCLAIM) and routes them again; copies already written are
//     recognised by their dedup key and not written twice;
//   - a Redis error leaves the batch unacknowledged; the router reads its
//     own pending entries again (XREADGROUP ... 0) before new ones.
//
// Entries that are not TradPal events are acknowledged and counted
// (skipped), never routed. With --schemas, an event whose data fails its
// type's JSON Schema is not routed either: it is copied to the quarantine
// stream (through the same dedup, so once) with metadata.quarantine =
// {"reason", "source_stream", "source_id"}, and counted. Rules are replaced between batches
// (request_reload(), from SIGHUP): a file that does not load is refused with
// a logged reason and the rules in force stay.
//
// The work is pipelined: while Redis writes batch k's copies, the next
// read is already answered and batch k+1 decoded and matched; batch k is
// acknowledged once its copies are confirmed, before k+1's are sent.
//
// One thread: run() returns when `stop` is set, after the batch in hand.
#pragma once

#include <array>
#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/sync_client.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"
#include "processing/schema/schema_set.h"
#include "tools/router/config.h"
#include "tools/router/router_metrics.h"
#include "tools/router/target_writer.h"

struct redisReply;

namespace tradpal::router {

class RouteProcessor {
 public:
  // Loads the rules (RuleError: main() exits 2) and connects (RedisError).
  RouteProcessor(RouterConfig config, RouterMetrics& metrics);

  // Until `stop`; reloads the rules when `reload` is found set (and clears
  // it). Throws redis::RedisError only when Redis stays away longer than
  // the retries allow.
  void run(const std::atomic<bool>& stop, std::atomic<bool>& reload);

 private:
  struct Loaded {
    std::unique_ptr<routing::RuleSet> rules;
    std::unique_ptr<routing::RuleMatcher> matcher;
    std::vector<prometheus::Counter*> matches;  // per rule
  };
  // Entries read, routed, and not yet acknowledged: the reply owns their
  // bytes, which the copies and the acknowledgement point into.
  struct Batch {
    std::size_t partition = 0;
    redis::ReplyPtr reply;
    std::vector<std::string_view> ids;              // to acknowledge
    std::vector<std::array<char, 36>> event_ids;    // stable: reserved up front
    std::deque<std::string> tagged;                 // copies whose metadata changed
    std::vector<TargetWriter*> writers;             // with copies of this batch
  };

  void load_rules();
  void ensure_groups();
  // Reads one partition until it has nothing more (or, for its own pending
  // entries after a start or a failure, one batch), routing each batch while
  // the next is read and the last is written; true if entries came.
  bool drain_partition(std::size_t p, bool block);
  void claim_partition(std::size_t p);
  void send_read(std::size_t p, bool history, bool block);
  // Decodes and matches the entries, queueing their copies.
  void prepare(Batch& batch, const redisReply* entries);
  // Sends the batch's copies (Redis writes them while the caller goes on).
  void send(Batch& batch);
  // Waits until the copies are written, then acknowledges the entries.
  void complete(Batch& batch);
  // After a failure: nothing half-sent is kept, no reply is left unread.
  void abandon() noexcept;
  TargetWriter& writer(const std::string& target);
  // True when the event fails its schema; it is then queued for quarantine.
  bool quarantined(Batch& batch, const EventFields& ev, std::string_view event_id, std::string_view entry_id);

  RouterConfig config_;
  RouterMetrics& metrics_;
  redis::Partitioning partitioning_;
  Loaded loaded_;
  std::vector<std::unique_ptr<redis::SyncClient>> readers_;  // one per partition
  std::vector<bool> history_done_;                           // own pending entries read again
  std::vector<std::string> claim_cursor_;
  std::map<std::string, std::unique_ptr<TargetWriter>, std::less<>> writers_;
  redis::SkipCounter skips_;
  const std::atomic<bool>* stop_ = nullptr;    // run()'s
  const std::atomic<bool>* reload_ = nullptr;
  std::unique_ptr<schema::SchemaSet> schemas_;
  simdjson::dom::parser schema_parser_;
};

}  // namespace tradpal::router
