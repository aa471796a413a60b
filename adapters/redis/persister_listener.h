// adapters/redis/persister_listener.h
//
// PersisterListener: how a Persister pushes what happens to whoever waits on
// it, with no polling. Three calls, all on the persister's I/O thread:
//
//   acknowledged(burst)  once per reply burst Redis answered: every event of
//                        the burst in bus order, with its correlation token
//                        (0 when the publisher gave none), bus sequence and
//                        stream id. The span is valid only during the call.
//   abandoned(tokens)    once, at stop(): the correlation tokens of events
//                        Redis never acknowledged and never will (from this
//                        persister).
//   state_changed(state) the connection came up or went down, or the breaker
//                        changed state. Edge-triggered: one call per change.
//   refused(token, why)  an event will never be written: its data or
//                        metadata is not valid JSON (readers would skip it).
//
// Implementations must be quick and must not block or call back into the
// persister: the usual one appends to a queue and wakes its own loop once
// (uv_async_send coalesces). They are noexcept; nothing may escape into the
// I/O thread. DurabilityTracker is one (tokens → futures and callbacks).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "adapters/redis/circuit_breaker.h"
#include "engine/event_view.h"
#include "engine/stream_id.h"

namespace tradpal::redis {

struct Acknowledgement {
  std::uint64_t correlation = 0;
  Sequence sequence = 0;
  StreamId id;
};

struct PersisterState {
  bool connected = false;
  BreakerState breaker = BreakerState::closed;
  std::string last_error;  // never contains a password
};

class PersisterListener {
 public:
  virtual void acknowledged(std::span<const Acknowledgement> burst) noexcept = 0;
  virtual void abandoned(std::span<const std::uint64_t> correlations) noexcept = 0;
  virtual void state_changed(const PersisterState& state) noexcept = 0;
  virtual void refused(std::uint64_t correlation, std::string_view why) noexcept = 0;

 protected:
  ~PersisterListener() = default;
};

}  // namespace tradpal::redis
