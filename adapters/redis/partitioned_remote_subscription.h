// adapters/redis/partitioned_remote_subscription.h
//
// PartitionedRemoteSubscription: one consumer of a consumer group over every
// partition stream of a Partitioning: a RemoteSubscription per partition,
// same group and consumer name, each on its own connection to the node that
// holds its stream. Several processes in one group share each partition's
// entries as they share one stream's (XREADGROUP, XACK, XAUTOCLAIM, dead
// letters to "<partition stream>:dead", which lives on the same node). Each
// partition's entries come in that partition's order, so one key's events
// come in order; between partitions there is no set order. A StoredEvent's
// id is its partition stream's id, unique only within that stream.
//
// With one partition it is exactly one RemoteSubscription on the plain
// stream. Threads and lifetimes as RemoteSubscription's; handlers run on the
// one IoThread, so they are never called concurrently.
#pragma once

#include <memory>
#include <vector>

#include "adapters/redis/partitioning.h"
#include "adapters/redis/remote_subscription.h"

namespace tradpal::redis {

class PartitionedRemoteSubscription {
 public:
  // `options.stream` and `dead_letter_stream` are replaced per partition
  // (a dead-letter stream given is suffixed with the partition's hash tag).
  PartitionedRemoteSubscription(IoThread& io, std::shared_ptr<const Partitioning> partitioning,
                                RemoteSubscriptionOptions options);

  void on(EventType type, const RemoteSubscription::Handler& handler);
  void on_any(const RemoteSubscription::Handler& handler);
  void start();
  void stop();

  [[nodiscard]] std::size_t partitions() const noexcept { return parts_.size(); }
  [[nodiscard]] RemoteSubscription& partition(std::size_t i) noexcept { return *parts_[i]; }
  [[nodiscard]] bool connected() const noexcept;
  [[nodiscard]] std::uint64_t handled() const noexcept;
  [[nodiscard]] std::uint64_t failed() const noexcept;
  [[nodiscard]] std::uint64_t claimed() const noexcept;
  [[nodiscard]] std::uint64_t dead_lettered() const noexcept;

 private:
  std::shared_ptr<const Partitioning> partitioning_;
  std::vector<std::unique_ptr<RemoteSubscription>> parts_;
};

}  // namespace tradpal::redis
