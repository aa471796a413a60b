// tools/eventd/redis_monitor.h
//
// RedisMonitor: the service's view of its Redis connection. refresh() reads
// the persister's health (its atomics) and logs one line when the
// connection comes or goes and when the breaker changes state; it runs when
// the persister pushes a state change (PersisterInbox) and when /health,
// /metrics or /events/stats ask, never on a timer. It tells publishers
// whether to try at all and builds GET /health. Loop thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "adapters/redis/event_store.h"
#include "adapters/redis/partitioned_persister.h"
#include "adapters/redis/partitioned_stream_tail.h"
#include "engine/bus.h"
#include "tools/eventd/service_counters.h"

namespace tradpal::eventd {

enum class HealthStatus : std::uint8_t { healthy, degraded, unhealthy };

class RedisMonitor {
 public:
  RedisMonitor(const redis::PartitionedPersister& persister, const Bus& bus, std::string redacted_url);

  // Takes a fresh snapshot and logs what changed.
  void refresh();

  [[nodiscard]] const redis::PersisterHealth& snapshot() const noexcept { return health_; }
  // Why a publish cannot succeed now, or nothing when it may.
  [[nodiscard]] std::optional<std::string> unavailable_reason() const;

  // Events published into the bus (ours, not replayed) that Redis has not
  // acknowledged yet.
  [[nodiscard]] std::uint64_t persister_lag() const noexcept;
  [[nodiscard]] double ring_fill() const noexcept;

  [[nodiscard]] HealthStatus status() const noexcept;
  // What GET /health says of a cluster's nodes: each as CLUSTER NODES has
  // it, or why they could not be read.
  struct ClusterView {
    std::vector<redis::ClusterNode> nodes;
    std::string error;
  };
  // GET /health's body (with a "cluster" object when `cluster` is given).
  [[nodiscard]] std::string health_json(std::size_t stream_clients, std::size_t pending_publishes,
                                        const redis::PartitionedStreamTail& tail,
                                        const ClusterView* cluster = nullptr) const;
  [[nodiscard]] const Bus& bus() const noexcept { return bus_; }

 private:
  const redis::PartitionedPersister& persister_;
  const Bus& bus_;
  std::string url_;
  redis::PersisterHealth health_;
  bool logged_once_ = false;
};

}  // namespace tradpal::eventd
