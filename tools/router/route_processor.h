// tools/router/route_processor.h
//
// RouteProcessor: tradpal-router's work. Reads the source stream (every
// partition) as one consumer of a Redis consumer group, matches each event
// against the rules, writes its copies into their targets (TargetWriter:
// at most once per event id per target), and acknowledges the entries only
// after every copy of the batch is written. So the delivery is at least
// once into Redis and exactly once as the targets hold it:
//
//   - a router killed mid-batch leaves its entries pending; another router
//     of the group takes over entries idle longer than claim_idle
//     (XAUTOCLAIM) and routes them again; copies already written are
//     recognised by their dedup key and not written twice;
//   - a Redis error leaves the batch unacknowledged; the router reads its
//     own pending entries again (XREADGROUP ... 0) before new ones.
//
// Entries that are not TradPal events are acknowledged and counted
// (skipped), never routed. Rules are replaced between batches
// (request_reload(), from SIGHUP): a file that does not load is refused with
// a logged reason and the rules in force stay.
//
// One thread: run() returns when `stop` is set, after the batch in hand.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/sync_client.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"
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
  void load_rules();
  void ensure_groups();
  // Reads one partition (its own pending entries first after a start or a
  // failure); true if entries came.
  bool read_partition(std::size_t p, bool block);
  void claim_partition(std::size_t p);
  // Routes the entries of an XREADGROUP / XAUTOCLAIM entry list and
  // acknowledges them.
  void route(std::size_t p, const redisReply* entries);
  TargetWriter& writer(const std::string& target);

  RouterConfig config_;
  RouterMetrics& metrics_;
  redis::Partitioning partitioning_;
  Loaded loaded_;
  std::vector<std::unique_ptr<redis::SyncClient>> readers_;  // one per partition
  std::vector<bool> history_done_;                           // own pending entries read again
  std::vector<std::string> claim_cursor_;
  std::map<std::string, std::unique_ptr<TargetWriter>, std::less<>> writers_;
  redis::SkipCounter skips_;
  std::vector<std::string> to_ack_;
};

}  // namespace tradpal::router
