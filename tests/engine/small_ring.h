// tests/engine/small_ring.h
//
// Bus options for tests that want to see wrap-around, back-pressure and
// eviction after a handful of events: a small ring and small events.
#pragma once

#include <cstddef>

#include "engine/bus.h"

namespace tradpal::testing {

inline BusOptions small_ring(std::size_t capacity = 4096, std::size_t max_event = 256) {
  BusOptions o;
  o.ring.capacity = capacity;
  o.ring.max_event_size = max_event;
  o.ring.max_subscribers = 8;
  return o;
}

}  // namespace tradpal::testing
