// adapters/redis/partitioned_persister.h
//
// PartitionedPersister: one Persister per partition of a Partitioning, all
// on one IoThread, each with its own connection to the node that holds its
// stream, so the writes to a cluster's masters are pipelined side by side.
// Every publisher still gets its event's message id (through the shared
// listener); ids are unique within a partition stream, not across them.
// With one partition it is exactly one Persister on the plain stream.
//
// Each persister is a gating subscriber of the bus that skips the events of
// the other partitions; with `watch_ring` each also takes one of the ring's
// doorbells (Ring::kMaxDoorbells), so more partitions than that need
// watch_ring off and notify() after publishing.
//
// Threads and lifetimes as Persister's: construct and destroy off the
// IoThread; health and counters from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "adapters/redis/partitioning.h"
#include "adapters/redis/persister.h"

namespace tradpal::redis {

class PartitionedPersister {
 public:
  // `options` holds what every partition's persister shares (connection,
  // batch sizes, retention, listener, replicas); its stream is replaced by
  // each partition's. Throws ConfigError as Persister does.
  PartitionedPersister(Bus& bus, IoThread& io, std::shared_ptr<const Partitioning> partitioning,
                       PersisterOptions options);

  void stop();
  [[nodiscard]] bool wait_idle(std::chrono::milliseconds timeout) const;
  void notify() noexcept;

  [[nodiscard]] std::size_t partitions() const noexcept { return persisters_.size(); }
  [[nodiscard]] Persister& partition(std::size_t i) noexcept { return *persisters_[i]; }
  [[nodiscard]] const Partitioning& partitioning() const noexcept { return *partitioning_; }
  // Counters summed over the partitions; connected and closed breaker only
  // when every partition's is; last_error the first partition's that has one.
  [[nodiscard]] PersisterHealth health() const;
  [[nodiscard]] std::uint64_t persisted() const noexcept;
  // The worst partition's breaker (open before half_open before closed):
  // a publish cannot tell in advance which partition it lands on, so one
  // partition that cannot write makes the whole unavailable.
  [[nodiscard]] BreakerState breaker_state() const noexcept;
  // Some partition's Redis refuses writes.
  [[nodiscard]] bool refusing() const noexcept;

 private:
  std::shared_ptr<const Partitioning> partitioning_;
  std::unique_ptr<PartitionMemo> memo_;  // the persisters' shared answers (their I/O thread)
  std::vector<std::unique_ptr<Persister>> persisters_;
};

}  // namespace tradpal::redis
