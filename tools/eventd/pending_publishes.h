// tools/eventd/publisher.h
//
// Publisher: turns an HTTP publish into a bus event and answers only once
// Redis has acknowledged it, with the message id the persister hands back.
//
//   handler ──try_publish(correlation = token)──► ring ──► persister ──XADD──► Redis
//      │ pending_[token] = responder, deadline                 │ reply (I/O thread)
//      ▼                                                       ▼
//   answer 200 ◄── drain_acks() on the loop ◄── Server::post ◄── tracker callback
//
// The tracker's callbacks run on the Redis I/O thread; they only append to an
// inbox and post one drain task when the inbox was empty, so the loop takes
// a whole reply burst in one go (that count is the batch-size histogram).
// Every publish ends in exactly one answer: 200 on acknowledgement, 503 when
// Redis is unavailable, the ring is full, the deadline passes or the
// persister gave up, 413 when the event is larger than the ring takes. Loop
// thread only, except the tracker callback.
#pragma once

#include <prometheus/histogram.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/http/responder.h"
#include "adapters/http/task.h"
#include "adapters/redis/durability_tracker.h"
#include "engine/bus.h"
#include "tools/eventd/redis_monitor.h"
#include "tools/eventd/service_counters.h"

namespace tradpal::eventd {

class Publisher {
 public:
  // The answer's shape: POST /events carries event_id, the convenience
  // endpoints only message_id and status (CONTRACT.md §2).
  enum class Shape : std::uint8_t { with_event_id, message_id_only };
  using Post = std::function<bool(http::Task)>;
  using OnPersisted = std::function<void(Sequence, std::string_view message_id)>;

  Publisher(Bus& bus, redis::DurabilityTracker& tracker, const RedisMonitor& monitor, ServiceCounters& counters,
            prometheus::Histogram& latency, prometheus::Histogram& batch, std::chrono::milliseconds timeout);
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Wiring, before the loop runs: how to reach the loop thread, and who
  // wants each (bus sequence, message id) pair once Redis has it.
  void set_post(Post post) { post_ = std::move(post); }
  void set_on_persisted(OnPersisted f) { on_persisted_ = std::move(f); }

  void publish(const EventSpec& spec, Shape shape, http::Responder responder);

  // Answers 503 to every publish past its deadline (called by the tick timer).
  void expire_overdue();
  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }

 private:
  struct Pending {
    std::uint64_t token;  // the tracker's, to cancel on timeout
    http::Responder responder;
    Shape shape;
    EventType type;
    Uuid event_id;
    Sequence sequence;
    std::chrono::steady_clock::time_point started;
  };
  struct Ack {
    std::uint64_t key;
    std::string message_id;  // empty: abandoned
  };

  void on_ack(std::uint64_t key, std::string_view message_id) noexcept;  // I/O thread
  void drain_acks();                                                       // loop thread

  Bus& bus_;
  redis::DurabilityTracker& tracker_;
  const RedisMonitor& monitor_;
  ServiceCounters& counters_;
  prometheus::Histogram& latency_;
  prometheus::Histogram& batch_;
  std::chrono::milliseconds timeout_;
  Post post_;
  OnPersisted on_persisted_;

  // Keyed by our own number, not the tracker's token: the callback must know
  // its key before track() returns the token.
  std::uint64_t next_key_ = 1;
  std::unordered_map<std::uint64_t, Pending> pending_;
  // Deadlines in publish order; all share one timeout, so the front is the
  // earliest. Entries already answered are skipped when they come up.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> deadlines_;

  std::mutex inbox_mutex_;
  std::vector<Ack> inbox_;
  std::vector<Ack> draining_;
};

}  // namespace tradpal::eventd
