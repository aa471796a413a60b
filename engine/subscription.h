// engine/subscription.h
//
// Subscription: one subscriber's handle on the bus, owned by the thread that
// polls it. poll() delivers batches of matching events in the ring's global
// order, in place, to handler(const EventView&, bool end_of_batch); it never
// blocks, never allocates and never throws. The slot is freed when the
// Subscription is destroyed or closed. Counters may be read from any thread.
//
//   auto sub = bus.subscribe({.types = {EventType::trading_signal}});
//   while (running) {
//     sub.poll([&](const EventView& e, bool end_of_batch) { ... }, 256);
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>

#include "engine/event_type.h"
#include "engine/ring.h"

namespace tradpal {

class Bus;

struct SubscribeOptions {
  EventTypeSet types;                      // empty: every type
  BackPressure mode = BackPressure::block;
  std::optional<Sequence> start;           // none: the next event published
};

class Subscription {
 public:
  Subscription() noexcept = default;
  Subscription(Bus* bus, Ring* ring, std::uint32_t slot) noexcept : bus_(bus), ring_(ring), slot_(slot) {}
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  Subscription(Subscription&& other) noexcept { *this = std::move(other); }
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      close();
      bus_ = other.bus_;
      ring_ = other.ring_;
      slot_ = other.slot_;
      other.ring_ = nullptr;
    }
    return *this;
  }
  ~Subscription() { close(); }

  [[nodiscard]] bool valid() const noexcept { return ring_ != nullptr; }

  // Delivers up to `limit` events; returns how many.
  template <typename Handler>
  std::size_t poll(Handler&& handler, std::size_t limit = std::numeric_limits<std::size_t>::max()) noexcept {
    return ring_->poll(slot_, handler, limit);
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
  Bus* bus_ = nullptr;
  Ring* ring_ = nullptr;
  std::uint32_t slot_ = 0;
};

}  // namespace tradpal
