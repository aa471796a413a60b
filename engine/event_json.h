// engine/event_json.h
//
// The wire form of an event (CONTRACT.md §1): the JSON object stored in the
// `event` field of a Redis stream entry and returned by the HTTP API.
//
// Encoding writes what Python's json.dumps writes for Event.to_dict():
//   {"event_type": "...", "event_id": "...", "timestamp": "...",
//    "source": "...", "data": {...}, "metadata": {...}}
// with data and metadata copied verbatim (they are already JSON objects).
//
// Decoding accepts any valid JSON layout, extra keys, and every timestamp
// form of engine/timestamp.h; anything else is a DecodeError naming the kind
// of problem, so readers can skip, count and log each kind once. Invalid JSON
// anywhere in the text (data, metadata and unknown keys included) is
// not_json, as for Python's json.loads. Any thread; the decoder keeps a
// simdjson parser and a padded copy buffer per thread, so a decode that
// reuses them allocates nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/event.h"
#include "engine/event_view.h"

namespace tradpal {

enum class DecodeError : std::uint8_t {
  none = 0,
  not_json,            // the text is not a JSON object
  missing_field,       // one of the six keys is absent or of the wrong JSON type
  unknown_event_type,  // event_type is not one of the 16 names
  bad_event_id,        // event_id is not a UUID
  bad_timestamp,       // timestamp is not an accepted ISO 8601 form
  data_not_object,     // data or metadata is not a JSON object
};
inline constexpr std::size_t kDecodeErrorCount = 7;

[[nodiscard]] std::string_view to_string(DecodeError e) noexcept;

// Appends the wire JSON of the event to `out`.
void append_event_json(std::string& out, const EventView& view);
void append_event_json(std::string& out, const Event& event);
struct EventFields;
void append_event_json(std::string& out, const EventFields& fields);
[[nodiscard]] std::string event_json(const Event& event);

// Decodes the wire JSON. On failure returns std::nullopt and sets `error`.
[[nodiscard]] std::optional<Event> decode_event_json(std::string_view json, DecodeError* error = nullptr);

// A decoded event whose text fields are borrowed from the calling thread's
// decoder: source (unescaped), data and metadata (raw JSON objects as they
// stand in the input) stay valid until the next decode on the same thread.
// Copy them out (or publish them) before decoding again.
struct EventFields {
  EventType type = EventType::system_health;
  Uuid event_id{};
  TimestampNs timestamp_ns = 0;
  std::string_view source;
  std::string_view data;
  std::string_view metadata;
};

// Decodes the wire JSON without allocating once the thread's buffers are
// large enough (they only grow, to the largest text decoded on the thread).
// Returns DecodeError::none and fills `out` on success; on failure `out` is
// unspecified. Throws std::bad_alloc only when a buffer cannot grow.
// decode_event_json is this plus the copy.
[[nodiscard]] DecodeError decode_event_view(std::string_view json, EventFields& out);

// An owned copy of decoded fields (origin local, sequence 0).
[[nodiscard]] Event to_event(const EventFields& fields);

}  // namespace tradpal
