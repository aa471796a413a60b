#include "adapters/redis/partitioned_persister.h"

#include <algorithm>

namespace tradpal::redis {

PartitionedPersister::PartitionedPersister(Bus& bus, IoThread& io, std::shared_ptr<const Partitioning> partitioning,
                                           PersisterOptions options)
    : partitioning_(std::move(partitioning)) {
  if (partitioning_ == nullptr) throw ConfigError("partitioned persister: no partitioning");
  const std::string name = options.connection.name == "redis" ? "persister" : options.connection.name;
  memo_ = std::make_unique<PartitionMemo>();
  persisters_.reserve(partitioning_->count());
  for (std::size_t i = 0; i < partitioning_->count(); ++i) {
    PersisterOptions o = options;
    o.partitioning = partitioning_->count() > 1 ? partitioning_ : nullptr;
    o.partition = i;
    o.partition_memo = memo_.get();
    o.stream = partitioning_->stream(i);
    o.connection.name = partitioning_->count() > 1 ? name + "[" + std::to_string(i) + "]" : name;
    persisters_.push_back(std::make_unique<Persister>(bus, io, std::move(o)));
  }
}

void PartitionedPersister::stop() {
  for (auto& p : persisters_) p->stop();
}

bool PartitionedPersister::wait_idle(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& p : persisters_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!p->wait_idle(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

void PartitionedPersister::notify() noexcept {
  for (auto& p : persisters_) p->notify();
}

std::uint64_t PartitionedPersister::persisted() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : persisters_) n += p->persisted();
  return n;
}

BreakerState PartitionedPersister::breaker_state() const noexcept {
  BreakerState worst = BreakerState::closed;
  for (const auto& p : persisters_) {
    const BreakerState b = p->breaker_state();
    if (b == BreakerState::open) return b;
    if (b == BreakerState::half_open) worst = b;
  }
  return worst;
}

bool PartitionedPersister::refusing() const noexcept {
  return std::any_of(persisters_.begin(), persisters_.end(), [](const auto& p) { return p->refusing(); });
}

PersisterHealth PartitionedPersister::health() const {
  PersisterHealth sum;
  sum.connected = true;
  for (const auto& p : persisters_) {
    const PersisterHealth h = p->health();
    sum.connected = sum.connected && h.connected;
    sum.refusing = sum.refusing || h.refusing;
    if (h.breaker != BreakerState::closed && sum.breaker == BreakerState::closed) sum.breaker = h.breaker;
    if (sum.last_error.empty()) sum.last_error = h.last_error;
    if (!sum.node.empty()) sum.node += ',';
    sum.node += h.node;
    sum.persisted += h.persisted;
    sum.buffered += h.buffered;
    sum.slot_bytes += h.slot_bytes;
    sum.skipped_foreign += h.skipped_foreign;
    sum.recovered += h.recovered;
    sum.refused += h.refused;
    sum.redirects += h.redirects;
    sum.replica_waits += h.replica_waits;
    sum.connect_attempts += h.connect_attempts;
    sum.failures += h.failures;
    sum.reply_timeouts += h.reply_timeouts;
    sum.persisted_sequence = std::max(sum.persisted_sequence, h.persisted_sequence);
  }
  return sum;
}

}  // namespace tradpal::redis
