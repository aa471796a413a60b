// engine/subscription.h
//
// Subscription: one subscriber's handle on the bus, owned by the thread that
// polls it. poll() delivers batches of matching events in the ring's global
// order, in place, to handler(const EventView&, bool end_of_batch); it never
// blocks, never allocates and never throws. The slot is freed when the
// Subscription is destroyed or closed. Counters may be read from any thread.
// The Subscription must not outlive its Bus.
//
// A handler that throws (as the Disruptor's ExceptionHandler handles it):
// poll() catches the exception, the event counts as consumed, and the next
// event is delivered. SubscribeOptions::on_exception gets the event and the
// exception; rethrow there to end the process (std::terminate, since poll()
// is noexcept). Without it, handler_failures() counts the failure and the
// subscription's first one is reported on stderr. A handler declared
// noexcept pays nothing for this.
//
//   auto sub = bus.subscribe({.types = {EventType::trading_signal}});
//   while (running) {
//     sub.poll([&](const EventView& e, bool end_of_batch) { ... }, 256);
//   }
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>

#include "engine/event_type.h"
#include "engine/ring.h"

namespace tradpal {

class Bus;

// Called on the polling thread with the event whose handler threw and the
// exception; see the header comment.
using HandlerExceptionHandler = std::function<void(const EventView& event, std::exception_ptr error)>;

struct SubscribeOptions {
  EventTypeSet types;                      // empty: every type
  BackPressure mode = BackPressure::block;
  std::optional<Sequence> start;           // none: the next event published
  HandlerExceptionHandler on_exception;    // none: count, report the first on stderr
};

class Subscription {
 public:
  Subscription() noexcept = default;
  Subscription(Bus* bus, Ring* ring, std::uint32_t slot, HandlerExceptionHandler on_exception = {})
      : bus_(bus), ring_(ring), slot_(slot), failures_(std::make_unique<Failures>()) {
    failures_->on_exception = std::move(on_exception);
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  Subscription(Subscription&& other) noexcept { *this = std::move(other); }
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      close();
      bus_ = other.bus_;
      ring_ = other.ring_;
      slot_ = other.slot_;
      failures_ = std::move(other.failures_);
      other.ring_ = nullptr;
    }
    return *this;
  }
  ~Subscription() { close(); }

  [[nodiscard]] bool valid() const noexcept { return ring_ != nullptr; }

  // Delivers up to `limit` events; returns how many (a handler that threw
  // included).
  template <typename Handler>
  std::size_t poll(Handler&& handler, std::size_t limit = std::numeric_limits<std::size_t>::max()) noexcept {
    if constexpr (std::is_nothrow_invocable_v<Handler&, const EventView&, bool>) {
      return ring_->poll(slot_, handler, limit);
    } else {
      auto guarded = [this, &handler](const EventView& event, bool end_of_batch) noexcept {
        try {
          handler(event, end_of_batch);
        } catch (...) {
          handler_threw(event);
        }
      };
      return ring_->poll(slot_, guarded, limit);
    }
  }

  // Events whose handler threw.
  [[nodiscard]] std::uint64_t handler_failures() const noexcept {
    return failures_ ? failures_->count.load(std::memory_order_relaxed) : 0;
  }

  // True once the bus is closed and every committed event has been seen.
  [[nodiscard]] bool drained() const noexcept {
    return ring_->closed() && !ring_->available(slot_) && ring_->position(slot_) >= ring_->tail();
  }
  // Atomic reads only: any thread may ask (a watcher deciding whether to
  // wake the owner, for instance).
  [[nodiscard]] bool available() const noexcept { return ring_->available(slot_); }

  [[nodiscard]] Sequence position() const noexcept { return ring_->position(slot_); }
  [[nodiscard]] std::uint64_t consumed(EventType t) const noexcept {
    return ring_->counters(slot_).consumed[to_index(t)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t consumed_total() const noexcept;
  [[nodiscard]] std::uint64_t lost(EventType t) const noexcept {
    return ring_->counters(slot_).lost[to_index(t)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t lost_total() const noexcept {
    return ring_->counters(slot_).lost_total.load(std::memory_order_acquire);
  }
  [[nodiscard]] Ring& ring() const noexcept { return *ring_; }

  // Frees the slot (publishers stop waiting for it at once) and hands this
  // subscriber's losses to the bus totals.
  void close() noexcept;

 private:
  struct Failures {
    std::atomic<std::uint64_t> count{0};
    HandlerExceptionHandler on_exception;
  };
  // Inside the catch block of poll(): std::current_exception() is the one.
  void handler_threw(const EventView& event) noexcept;

  Bus* bus_ = nullptr;
  Ring* ring_ = nullptr;
  std::uint32_t slot_ = 0;
  std::unique_ptr<Failures> failures_;  // on the heap: the Subscription stays movable
};

}  // namespace tradpal
