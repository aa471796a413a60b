// engine/publication.h
//
// Publication: an exclusive publication of a Bus, as Aeron's
// ExclusivePublication. It owns one ring of the bus (a "lane") that no other
// publisher claims from, so a claim moves that ring's tail with a plain
// store: no locked instruction per event, and no waiting for the cache line
// of another publisher's claim. Every subscription of the bus reads every
// lane beside the bus's own ring (subscription.h says in which order).
//
// Who may call it: one thread at a time (hand it to another thread only
// through something that synchronises, as any object). The publishing calls
// never block, allocate (once the thread's JSON check buffer is warm) or
// throw, and check JSON as the bus does (BusOptions::json_check), and ask the
// bus's validator (BusOptions::validator) as the bus's own publishes do; a
// claim bypasses both, as on the bus. They count toward Bus::published().
//
// Lifetime: from Bus::publication() until destroyed or release()d; the lane
// then goes back to the bus for the next publication() and keeps what was
// published for its subscribers. Destroy every Publication, and the Claims
// made through it, before the Bus.
//
//   tradpal::Bus bus;
//   auto sub = bus.subscribe();
//   tradpal::Publication pub = bus.publication();  // on the publishing thread
//   pub.publish({.type = tradpal::EventType::market_data_update, .data = R"({"price": 1})"});
#pragma once

#include <cstdint>
#include <span>

#include "engine/bus.h"

namespace tradpal {

class Publication {
 public:
  Publication() noexcept = default;
  Publication(const Publication&) = delete;
  Publication& operator=(const Publication&) = delete;
  Publication(Publication&& other) noexcept { *this = std::move(other); }
  Publication& operator=(Publication&& other) noexcept {
    if (this != &other) {
      release();
      bus_ = other.bus_;
      ring_ = other.ring_;
      lane_ = other.lane_;
      other.ring_ = nullptr;
    }
    return *this;
  }
  ~Publication() { release(); }

  [[nodiscard]] bool valid() const noexcept { return ring_ != nullptr; }

  // As the Bus calls of the same names, on this publication's ring.
  PublishStatus try_publish(const EventSpec& spec, Published* out = nullptr,
                            PublishRejection* rejection = nullptr) noexcept {
    return bus_->try_publish_on(*ring_, spec, out, rejection);
  }
  template <typename Wait = Backoff>
  PublishStatus publish(const EventSpec& spec, Published* out = nullptr,
                        PublishRejection* rejection = nullptr) noexcept {
    // The bus's wait: a publication's ring shares the bus's wake-up.
    return bus_->retry<Wait>([&] { return try_publish(spec, out, rejection); });
  }
  Bus::BatchResult try_publish_batch(std::span<const EventSpec> specs, Published* out = nullptr,
                                     PublishRejection* rejection = nullptr) noexcept {
    return bus_->try_publish_batch_on(*ring_, specs, out, rejection);
  }
  PublishStatus try_claim(const ClaimRequest& request, Claim& out) noexcept {
    return bus_->try_claim_on(*ring_, request, out);
  }
  PublishStatus try_claim_batch(std::span<const ClaimRequest> requests, std::span<Claim> out) noexcept {
    return bus_->try_claim_batch_on(*ring_, requests, out);
  }
  void commit_batch(std::span<Claim> claims) noexcept { ring_->commit_batch(claims); }

  // This publication's ring (Published::sequence values are its sequences).
  [[nodiscard]] Ring& ring() const noexcept { return *ring_; }
  [[nodiscard]] std::uint32_t lane() const noexcept { return lane_; }

  // Gives the lane back to the bus. Commit or abort its Claims first.
  void release() noexcept {
    if (ring_ == nullptr) return;
    bus_->release_lane(lane_);
    ring_ = nullptr;
  }

 private:
  friend class Bus;
  Publication(Bus* bus, Ring* ring, std::uint32_t lane) noexcept : bus_(bus), ring_(ring), lane_(lane) {}

  Bus* bus_ = nullptr;
  Ring* ring_ = nullptr;
  std::uint32_t lane_ = 0;
};

}  // namespace tradpal
