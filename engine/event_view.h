// engine/event_view.h
//
// EventView: what a subscriber's handler receives. It reads the ring's memory
// in place (no copy) and is valid only while the handler runs; copy out what
// must outlive the call (to_event() in engine/event.h does that).
//
// data() and metadata() are followed by at least SIMDJSON_PADDING readable
// bytes, so they can be parsed in place with simdjson On-Demand: see
// parse_data() in engine/json.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "engine/detail/frame.h"
#include "engine/event_type.h"
#include "engine/stream_id.h"
#include "engine/timestamp.h"
#include "engine/uuid.h"

namespace tradpal {

// An absolute position in the ring's log, in bytes. Every event has one; it
// increases strictly in the ring's single global order, so every subscriber
// sees the same sequences in the same order. Index into memory = sequence & mask.
using Sequence = std::uint64_t;

class EventView {
 public:
  EventView(const detail::FrameHeader* frame, Sequence sequence, std::uint64_t descriptor) noexcept
      : frame_(frame), sequence_(sequence), descriptor_(descriptor) {}

  [[nodiscard]] EventType type() const noexcept { return detail::descriptor_type(descriptor_); }
  [[nodiscard]] EventOrigin origin() const noexcept { return detail::descriptor_origin(descriptor_); }
  [[nodiscard]] Sequence sequence() const noexcept { return sequence_; }
  [[nodiscard]] TimestampNs timestamp_ns() const noexcept { return frame_->timestamp_ns; }
  [[nodiscard]] Uuid event_id() const noexcept {
    Uuid u;
    for (int i = 0; i < 16; ++i) u.bytes[i] = frame_->event_id[i];
    return u;
  }
  // The publisher's correlation token (0 when it gave none); the persister
  // uses it to hand the Redis message id back to whoever published.
  [[nodiscard]] std::uint64_t correlation() const noexcept { return frame_->correlation; }

  // The Redis stream id of an event read from the shared stream (a
  // StreamTail republishes with it); std::nullopt for local events.
  [[nodiscard]] std::optional<StreamId> stream_id() const noexcept {
    if (!detail::descriptor_has_stream_id(descriptor_)) return std::nullopt;
    const char* at = frame_->body() + frame_->source_size + frame_->data_size + frame_->metadata_size;
    StreamId id;
    std::memcpy(&id.ms, at, 8);
    std::memcpy(&id.seq, at + 8, 8);
    return id;
  }

  [[nodiscard]] std::string_view source() const noexcept { return {frame_->body(), frame_->source_size}; }
  [[nodiscard]] std::string_view data() const noexcept {
    return {frame_->body() + frame_->source_size, frame_->data_size};
  }
  [[nodiscard]] std::string_view metadata() const noexcept {
    return {frame_->body() + frame_->source_size + frame_->data_size, frame_->metadata_size};
  }
  // Readable bytes from data().data() on: data + metadata + the
  // SIMDJSON_PADDING bytes after them, which belong to whatever follows the
  // frame in the ring (see detail/frame.h).
  [[nodiscard]] std::size_t data_capacity() const noexcept {
    return std::size_t{frame_->data_size} + frame_->metadata_size + detail::kJsonPadding;
  }
  [[nodiscard]] std::size_t metadata_capacity() const noexcept {
    return std::size_t{frame_->metadata_size} + detail::kJsonPadding;
  }

 private:
  const detail::FrameHeader* frame_;
  Sequence sequence_;
  std::uint64_t descriptor_;
};

}  // namespace tradpal
