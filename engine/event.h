// engine/event.h
//
// Event: an owned copy of one TradPal event, for the paths that must keep an
// event beyond a handler (Redis reads, HTTP answers, tests). Constructing one
// allocates; the bus's hot path never does. to_event() copies an EventView.
#pragma once

#include <optional>
#include <string>

#include "engine/detail/frame.h"
#include "engine/event_type.h"
#include "engine/event_view.h"
#include "engine/timestamp.h"
#include "engine/uuid.h"

namespace tradpal {

struct Event {
  EventType type = EventType::system_health;
  Uuid event_id{};
  TimestampNs timestamp_ns = 0;
  std::string source;
  std::string data = "{}";      // a JSON object, as text
  std::string metadata = "{}";  // a JSON object, as text
  EventOrigin origin = EventOrigin::local;
  Sequence sequence = 0;        // bus sequence when it came from the bus
  std::optional<StreamId> stream_id;  // when it came from the Redis stream
};

[[nodiscard]] inline Event to_event(const EventView& view) {
  return Event{view.type(),
               view.event_id(),
               view.timestamp_ns(),
               std::string(view.source()),
               std::string(view.data()),
               std::string(view.metadata()),
               view.origin(),
               view.sequence(),
               view.stream_id()};
}

}  // namespace tradpal
