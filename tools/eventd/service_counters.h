// tools/eventd/service_counters.h
//
// ServiceCounters: what the service itself counts, for /metrics and /health.
// Loop thread only (plain integers: every writer and the scrape run there).
// The bus and the Redis adapter keep their own counters; these are the
// service's view: publishes Redis acknowledged, events handed to stream
// clients, and every publish we had to refuse, by reason.
#pragma once

#include <array>
#include <cstdint>

#include "engine/event_type.h"

namespace tradpal::eventd {

enum class Rejection : std::uint8_t {
  redis_unavailable = 0,  // not connected or breaker open: 503 before publishing
  back_pressured,         // the ring is full: 503
  ack_timeout,            // published, not acknowledged within the deadline: 503
  abandoned,              // the persister stopped before acknowledging: 503
  too_large,              // larger than the ring's max event: 413
  closed,                 // the bus is closed (shutting down): 503
  invalid_json,           // refused by the persister (data not valid JSON): 422
};
inline constexpr std::size_t kRejectionCount = 7;
inline constexpr std::array<const char*, kRejectionCount> kRejectionNames = {
    "redis_unavailable", "back_pressured", "ack_timeout", "abandoned", "too_large", "closed", "invalid_json"};

struct ServiceCounters {
  std::array<std::uint64_t, kEventTypeCount> published{};  // acknowledged by Redis
  std::array<std::uint64_t, kEventTypeCount> consumed{};   // written to stream clients
  std::array<std::uint64_t, kRejectionCount> rejected{};
  std::uint64_t replayed = 0;             // republished into the bus by /events/replay
  std::uint64_t stream_missed_ring = 0;   // stream clients overrun in the ring (lossy)
  std::uint64_t stream_missed_slow = 0;   // not sent to a slow stream client and not in Redis to read on
  std::uint64_t stream_clients_total = 0;
  std::uint64_t stream_clients_stalled = 0;  // disconnected after reading nothing for the stall time
  std::uint64_t stream_catch_ups = 0;  // live clients too slow for the live events, sent to read Redis

  void reject(Rejection r) noexcept { ++rejected[static_cast<std::size_t>(r)]; }
};

}  // namespace tradpal::eventd
