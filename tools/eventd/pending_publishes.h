// tools/eventd/pending_publishes.h
//
// PendingPublishes: the HTTP publishes waiting for Redis. Each one is put on
// the bus with a correlation token of ours and answered only once the
// persister's acknowledgement names it, with the stream id Redis gave it.
//
//   handler ──try_publish(correlation = token)──► ring ──► persister ──XADD──► Redis
//      │ pending_[token] = responder, deadline                 │ reply burst (I/O thread)
//      ▼                                                       ▼
//   answer 200 ◄── on_acknowledged(burst) on the loop ◄── PersisterInbox
//
// Every publish ends in exactly one answer: 200 on acknowledgement, 503 when
// Redis is unavailable, the ring is full, the deadline passes (a timer armed
// for the earliest deadline, nothing periodic) or the persister gave up,
// 413 when the event is larger than the ring takes. Loop thread only.
#pragma once

#include <prometheus/histogram.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <unordered_map>

#include "adapters/http/responder.h"
#include "adapters/redis/persister_listener.h"
#include "engine/bus.h"
#include "tools/eventd/redis_monitor.h"
#include "tools/eventd/service_counters.h"

namespace tradpal::eventd {

class PendingPublishes {
 public:
  // The answer's shape: POST /events carries event_id, the convenience
  // endpoints only message_id and status (CONTRACT.md §2).
  enum class Shape : std::uint8_t { with_event_id, message_id_only };

  // `published` runs after each event the bus took: it wakes the persister,
  // which has no thread of its own watching the ring in eventd.
  PendingPublishes(uv_loop_t* loop, Bus& bus, const RedisMonitor& monitor, ServiceCounters& counters,
                   prometheus::Histogram& latency, prometheus::Histogram& batch, std::chrono::milliseconds timeout,
                   std::function<void()> published);
  PendingPublishes(const PendingPublishes&) = delete;
  PendingPublishes& operator=(const PendingPublishes&) = delete;

  // `spec.correlation` is ours to set: whatever the caller put there is replaced.
  void publish(EventSpec spec, Shape shape, http::Responder responder);
  // POST /events/market-data: the bus builds {"symbol": symbol, **data}.
  void publish_market_data(std::string_view symbol, std::string_view data, std::string_view source,
                           http::Responder responder);

  // From the PersisterInbox, in bus order.
  void on_acknowledged(std::span<const redis::Acknowledgement> burst);
  void on_abandoned(std::span<const std::uint64_t> correlations);
  // Never written (data or metadata not valid JSON): 422.
  void on_refused(std::span<const std::uint64_t> correlations);

  // Closes the deadline timer (before the loop closes). Idempotent.
  void close() noexcept;
  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

 private:
  struct Pending {
    http::Responder responder;
    Shape shape;
    EventType type;
    Uuid event_id;
    std::chrono::steady_clock::time_point started;
  };

  // 503 before publishing when Redis is known to be unavailable; otherwise
  // a fresh token. False when it has answered.
  bool admit(http::Responder& responder);
  void track(PublishStatus status, std::uint64_t token, const Published& out, EventType type, Shape shape,
             http::Responder responder);
  void expire_overdue();
  void arm_deadline() noexcept;
  static void on_deadline(uv_timer_t* timer) noexcept;

  Bus& bus_;
  const RedisMonitor& monitor_;
  ServiceCounters& counters_;
  prometheus::Histogram& latency_;
  prometheus::Histogram& batch_;
  std::chrono::milliseconds timeout_;
  std::function<void()> published_;

  std::uint64_t next_token_ = 1;  // 0 is "not tracked"
  std::unordered_map<std::uint64_t, Pending> pending_;
  // Deadlines in publish order; all share one timeout, so the front is the
  // earliest. Entries already answered are skipped when they come up.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> deadlines_;
  uv_timer_t deadline_timer_{};
  bool closed_ = false;
};

}  // namespace tradpal::eventd
