// tools/aggregator/bar_processor.h
//
// BarProcessor: tradpal-aggregator's work. Reads the source stream (every
// partition, XREAD from its own position), feeds the market_data_update
// events to a BarAggregator, and commits: the bars closed since the last
// commit (XADD to the bars stream, as TradPal events) and a checkpoint (the
// aggregator's state and the position in every partition) in one
// MULTI/EXEC. A restart restores the checkpoint and reads on from its
// position, so each bar is written exactly once: a bar is in the stream
// only with the checkpoint that knows its window closed, and the events
// after a checkpoint are read again and give the same bars.
//
// When a commit's outcome is unknown (the connection fell during EXEC), the
// processor reloads the checkpoint from Redis and goes on from there,
// whichever way the transaction went.
//
// Market data it cannot aggregate (no symbol or price, or data failing its
// schema when --schemas is given) is never dropped silently: it goes to the
// quarantine stream "{<bars>}:quarantine" (fields: event, reason, source_id,
// source_stream) in the same transaction, so exactly once too.
//
// The checkpoint key is "{<bars>}:checkpoint": on a cluster it shares the
// bars stream's slot, as MULTI/EXEC needs (so does the quarantine).
//
// One thread: run() returns when `stop` is set (after a final commit).
#pragma once

#include <simdjson.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/sync_client.h"
#include "engine/stream_cursor.h"
#include "processing/aggregation/bar_aggregator.h"
#include "processing/aggregation/market_tick.h"
#include "processing/schema/schema_set.h"
#include "tools/aggregator/config.h"

namespace tradpal::aggregator {

class BarProcessor {
 public:
  explicit BarProcessor(AggregatorConfig config);

  // Until `stop`; throws redis::RedisError only when Redis stays away
  // longer than the retries allow (main() logs it and exits 1).
  void run(const std::atomic<bool>& stop);

  [[nodiscard]] std::uint64_t events_read() const noexcept { return events_; }
  [[nodiscard]] std::uint64_t bars_written() const noexcept { return bars_written_; }
  [[nodiscard]] std::uint64_t quarantined() const noexcept { return quarantined_total_; }

 private:
  void restore();
  // Reads what each partition has after its position; true if anything came.
  bool read_some(bool block);
  void take(const redis::StoredEvent& e);
  void commit();
  [[nodiscard]] std::string bar_event(const processing::Bar& bar) const;

  AggregatorConfig config_;
  redis::Partitioning partitioning_;
  std::string checkpoint_key_;
  std::vector<std::unique_ptr<redis::SyncClient>> readers_;  // one per partition
  std::unique_ptr<redis::SyncClient> writer_;
  std::unique_ptr<processing::BarAggregator> aggregator_;
  processing::MarketTickReader ticks_;
  simdjson::dom::parser schema_parser_;
  redis::SkipCounter skips_;
  StreamCursor cursor_;
  struct Quarantined {
    std::string event;  // the wire JSON
    std::string reason;
    std::string id;      // its stream id
    std::size_t partition = 0;
  };
  void quarantine(const redis::StoredEvent& e, std::string reason);

  std::unique_ptr<schema::SchemaSet> schemas_;
  std::string quarantine_stream_;
  std::vector<Quarantined> quarantined_;  // since the last commit
  std::size_t reading_partition_ = 0;
  std::vector<processing::Bar> pending_;  // closed since the last commit
  bool dirty_ = false;                    // read since the last commit
  std::uint64_t events_ = 0;
  std::uint64_t bars_written_ = 0;
  std::uint64_t quarantined_total_ = 0;
};

}  // namespace tradpal::aggregator
