// adapters/redis/durability_tracker.h
//
// DurabilityTracker: hands each event's Redis message id back to whoever
// published it, one publisher at a time. A publisher takes a token (track()
// or ticket()), passes it as EventSpec::correlation, and gets the id through
// its callback or future once the persister has Redis' reply. It is the
// PersisterListener for programs where many independent callers publish;
// a program with one waiting side can implement PersisterListener itself
// and take each burst whole. Any thread may track, cancel or wait; the
// listener calls are the persister's (its I/O thread), and callbacks run
// there, so they must be short and may not block. A callback that throws is
// caught and counted. Token 0 means "not tracked" and is never handed out.
//
//   auto t = tracker.ticket();
//   bus.publish({.type = EventType::trading_signal, .data = json, .correlation = t.token});
//   std::string id = t.message_id.get();   // "1732897628193-0"; empty if abandoned
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "adapters/redis/persister_listener.h"

namespace tradpal::redis {

class DurabilityTracker final : public PersisterListener {
 public:
  // Receives the message id; an empty id means the event will not be
  // acknowledged (the persister stopped first).
  using Callback = std::function<void(std::string_view message_id)>;

  struct Ticket {
    std::uint64_t token = 0;
    std::future<std::string> message_id;
  };

  DurabilityTracker() = default;
  DurabilityTracker(const DurabilityTracker&) = delete;
  DurabilityTracker& operator=(const DurabilityTracker&) = delete;
  ~DurabilityTracker() { abandon_all(); }

  [[nodiscard]] std::uint64_t track(Callback callback);
  [[nodiscard]] Ticket ticket();
  // The publish failed (or the caller lost interest): forget the token
  // without calling anything.
  void cancel(std::uint64_t token) noexcept;

  // Persister side. Unknown tokens (cancelled, or never tracked) are ignored.
  void acknowledge(std::uint64_t token, std::string_view message_id) noexcept;
  void acknowledged(std::span<const Acknowledgement> burst) noexcept override;
  void abandoned(std::span<const std::uint64_t> correlations) noexcept override;
  void state_changed(const PersisterState&) noexcept override {}
  // Handed on as an empty id: the event will not be acknowledged.
  void refused(std::uint64_t correlation, std::string_view) noexcept override { acknowledge(correlation, {}); }
  // Calls every pending callback with an empty id.
  void abandon_all() noexcept;

  [[nodiscard]] std::size_t pending() const noexcept;
  [[nodiscard]] std::uint64_t callback_exceptions() const noexcept {
    return callback_exceptions_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kShards = 16;
  // Sharded so publishers on different threads rarely meet on one lock.
  struct alignas(64) Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, Callback> waiting;
  };
  Shard& shard(std::uint64_t token) noexcept { return shards_[token % kShards]; }
  void call(Callback& cb, std::string_view id) noexcept;

  std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> next_token_{1};
  std::atomic<std::uint64_t> callback_exceptions_{0};
};

}  // namespace tradpal::redis
