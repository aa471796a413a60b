// engine/subscription.h
//
// Subscription: one subscriber's handle on the bus, owned by the thread that
// polls it. poll() delivers batches of matching events in place to
// handler(const EventView&, bool end_of_batch); it never blocks, never
// allocates and never throws. The slots are freed when the Subscription is
// destroyed or closed. Counters may be read from any thread. The
// Subscription must not outlive its Bus.
//
// Order: the events of the bus's ring arrive in that ring's one global
// order, and the events of each exclusive publication (engine/publication.h)
// in that publication's order. Between those sources there is no set order:
// each poll() starts at the next source in turn, so no source starves the
// others. position() and SubscribeOptions::start are positions in the bus's
// ring; a subscription reads each publication from the publication's tail
// when it subscribed (or from its start, when the publication came later).
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
#include <array>
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

// The most exclusive publications a bus can have (BusOptions::max_publications).
inline constexpr std::size_t kMaxPublications = 16;

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
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  Subscription(Subscription&& other) noexcept { *this = std::move(other); }
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      close();
      bus_ = other.bus_;
      ring_ = other.ring_;
      slot_ = other.slot_;
      core_ = std::move(other.core_);
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
      return poll_sources(handler, limit);
    } else {
      auto guarded = [this, &handler](const EventView& event, bool end_of_batch) noexcept {
        try {
          handler(event, end_of_batch);
        } catch (...) {
          handler_threw(event);
        }
      };
      return poll_sources(guarded, limit);
    }
  }

  // Events whose handler threw.
  [[nodiscard]] std::uint64_t handler_failures() const noexcept {
    return core_ ? core_->failure_count.load(std::memory_order_relaxed) : 0;
  }

  // True once the bus is closed and every committed event has been seen.
  [[nodiscard]] bool drained() const noexcept;
  // Atomic reads only: any thread may ask (a watcher deciding whether to
  // wake the owner, for instance).
  [[nodiscard]] bool available() const noexcept;

  // The position in the bus's ring (publications have sequences of their own).
  [[nodiscard]] Sequence position() const noexcept { return ring_->position(slot_); }
  // Counts over the bus's ring and every publication.
  [[nodiscard]] std::uint64_t consumed(EventType t) const noexcept;
  [[nodiscard]] std::uint64_t consumed_total() const noexcept;
  [[nodiscard]] std::uint64_t lost(EventType t) const noexcept;
  [[nodiscard]] std::uint64_t lost_total() const noexcept;
  // The bus's ring: wait on it (its Block wake-up also wakes for
  // publications' events).
  [[nodiscard]] Ring& ring() const noexcept { return *ring_; }

  // Frees the slots (publishers stop waiting for it at once) and hands this
  // subscriber's losses to the bus totals.
  void close() noexcept;

 private:
  friend class Bus;

  // What outlives moves (on the heap) and what the bus reaches from other
  // threads: the bus attaches this subscriber to a publication created
  // later by filling lanes[i], then raising *lane_count past i (release).
  struct Core {
    std::atomic<std::uint64_t> failure_count{0};
    HandlerExceptionHandler on_exception;
    BackPressure mode = BackPressure::block;
    EventTypeSet filter;
    const std::atomic<std::uint32_t>* lane_count = nullptr;  // the bus's
    struct Lane {
      Ring* ring = nullptr;
      std::uint32_t slot = 0;
    };
    std::array<Lane, kMaxPublications> lanes{};
    std::uint32_t next_source = 0;  // the owner thread's: where the next poll starts
  };

  Subscription(Bus* bus, Ring* ring, std::uint32_t slot, std::unique_ptr<Core> core) noexcept
      : bus_(bus), ring_(ring), slot_(slot), core_(std::move(core)) {}

  // Without publications: the bus's ring alone, as before they existed.
  // With them: each source in turn, from one further than last time.
  template <typename Handler>
  std::size_t poll_sources(Handler& handler, std::size_t limit) noexcept {
    const std::uint32_t lanes = core_->lane_count->load(std::memory_order_acquire);
    if (lanes == 0) return ring_->poll(slot_, handler, limit);
    const std::uint32_t sources = lanes + 1;
    std::uint32_t at = core_->next_source < sources ? core_->next_source : 0;
    core_->next_source = at + 1 < sources ? at + 1 : 0;
    std::size_t delivered = 0;
    for (std::uint32_t k = 0; k < sources && delivered < limit; ++k) {
      if (at == 0) {
        delivered += ring_->poll(slot_, handler, limit - delivered);
      } else {
        const Core::Lane& lane = core_->lanes[at - 1];
        delivered += lane.ring->poll(lane.slot, handler, limit - delivered);
      }
      at = at + 1 < sources ? at + 1 : 0;
    }
    return delivered;
  }

  // Inside the catch block of poll(): std::current_exception() is the one.
  void handler_threw(const EventView& event) noexcept;
  // Calls visit(ring, slot) for the bus's ring, then for each publication's
  // this subscriber is attached to, until one returns true; returns whether
  // one did.
  template <typename Visit>
  bool any_source(Visit&& visit) const noexcept {
    if (visit(static_cast<const Ring&>(*ring_), slot_)) return true;
    const std::uint32_t lanes = core_->lane_count->load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < lanes; ++i) {
      if (visit(static_cast<const Ring&>(*core_->lanes[i].ring), core_->lanes[i].slot)) return true;
    }
    return false;
  }

  Bus* bus_ = nullptr;
  Ring* ring_ = nullptr;
  std::uint32_t slot_ = 0;
  std::unique_ptr<Core> core_;
};

}  // namespace tradpal
