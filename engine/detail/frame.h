// engine/detail/frame.h
//
// Frame: how one event is laid out in the ring's memory. Internal to the
// engine; users see frames only through EventView and Claim.
//
//   0               8               16              24
//   +---------------+---------------+---------------+----------------------+
//   | commit (atom) | descriptor    | timestamp_ns  | event_id (16 bytes)  |
//   +---------------+---------------+---------------+----------------------+
//   40              48      52      56   58         64
//   +---------------+-------+-------+----+----------+
//   | correlation   | data  | meta  |src | reserved |   header: 64 bytes
//   +---------------+-------+-------+----+----------+
//   64
//   +--------+----------------+-----------------+-----------+-----------------+
//   | source | data JSON      | metadata JSON   | stream id | to the next 64  |
//   +--------+----------------+-----------------+-----------+-----------------+
//   frame length: a multiple of 64, so every frame starts on a cache line.
//   The stream id (16 bytes: ms, seq) is there only when the descriptor's
//   has-stream-id bit says so: events read from the shared Redis stream carry
//   the id Redis gave them; local events pay nothing for it.
//
// `commit` holds the frame's own absolute sequence XOR the ring's random
// commit key once the frame is published. Until then the word holds whatever
// an earlier lap left there: an older header, or 8 bytes of some payload,
// which without the key a publisher could shape into a plausible header. A
// reader therefore needs no zeroing of consumed memory: the frame at
// sequence s is readable exactly when commit == s ^ key (acquire), which
// pairs with the producer's release store in Claim::commit.
//
// `descriptor` packs the frame length, kind, type and origin into one word so
// that a producer evicting a lossy reader can walk old frames with atomic
// loads while the bytes after the header may be rewritten.
//
// simdjson's On-Demand parser reads up to SIMDJSON_PADDING bytes past the end
// of the text it parses; their content does not change what it reads. A
// frame carries no padding of its own for that: the bytes after it (the next
// frames, or the guard of kJsonPadding bytes past the ring's end) are always
// readable memory of the ring. They may be a frame another producer is
// writing at that moment; the parser's reads of them are then a benign race
// (they never decide anything), the price of a 64-byte event taking two
// cache lines instead of three.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/event_type.h"

namespace tradpal {

// Where an event came from. Events from Redis are never written back.
enum class EventOrigin : std::uint8_t {
  local = 0,     // published in this process
  replayed = 1,  // read back from the stream by a replay
  remote = 2,    // received from a consumer group
};

namespace detail {

inline constexpr std::size_t kFrameAlignment = 64;
inline constexpr std::size_t kFrameHeaderSize = 64;
inline constexpr std::size_t kJsonPadding = 64;  // == SIMDJSON_PADDING, checked in json.h

enum class FrameKind : std::uint8_t { event = 0, padding = 1 };

[[nodiscard]] constexpr std::uint64_t align_frame(std::uint64_t n) noexcept {
  return (n + kFrameAlignment - 1) & ~std::uint64_t{kFrameAlignment - 1};
}

inline constexpr std::size_t kStreamIdSize = 16;  // two little-endian u64: ms, seq
inline constexpr std::uint64_t kHasStreamIdBit = std::uint64_t{1} << 56;

// descriptor bits: [0,32) length, [32,40) kind, [40,48) type, [48,56) origin,
// 56 has-stream-id.
[[nodiscard]] constexpr std::uint64_t make_descriptor(std::uint32_t length, FrameKind kind, EventType type,
                                                      EventOrigin origin, bool has_stream_id = false) noexcept {
  return std::uint64_t{length} | (std::uint64_t{static_cast<std::uint8_t>(kind)} << 32) |
         (std::uint64_t{static_cast<std::uint8_t>(type)} << 40) |
         (std::uint64_t{static_cast<std::uint8_t>(origin)} << 48) | (has_stream_id ? kHasStreamIdBit : 0);
}
[[nodiscard]] constexpr bool descriptor_has_stream_id(std::uint64_t d) noexcept { return (d & kHasStreamIdBit) != 0; }
[[nodiscard]] constexpr std::uint32_t descriptor_length(std::uint64_t d) noexcept {
  return static_cast<std::uint32_t>(d);
}
[[nodiscard]] constexpr FrameKind descriptor_kind(std::uint64_t d) noexcept {
  return static_cast<FrameKind>((d >> 32) & 0xff);
}
[[nodiscard]] constexpr EventType descriptor_type(std::uint64_t d) noexcept {
  return static_cast<EventType>((d >> 40) & 0xff);
}
[[nodiscard]] constexpr EventOrigin descriptor_origin(std::uint64_t d) noexcept {
  return static_cast<EventOrigin>((d >> 48) & 0xff);
}

struct alignas(kFrameAlignment) FrameHeader {
  std::atomic<std::uint64_t> commit;
  std::atomic<std::uint64_t> descriptor;
  std::int64_t timestamp_ns;
  std::uint8_t event_id[16];
  std::uint64_t correlation;
  std::uint32_t data_size;
  std::uint32_t metadata_size;
  std::uint16_t source_size;
  std::uint16_t reserved16;
  std::uint32_t reserved32;

  [[nodiscard]] const char* body() const noexcept { return reinterpret_cast<const char*>(this) + kFrameHeaderSize; }
  [[nodiscard]] char* body() noexcept { return reinterpret_cast<char*>(this) + kFrameHeaderSize; }
};

static_assert(sizeof(FrameHeader) == kFrameHeaderSize, "the header is exactly one cache line");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "frames rely on lock-free 64-bit atomics");

// Frame length for a body of `source + data + metadata` bytes, plus
// `trailer` bytes after the metadata (the stream id, when there is one).
[[nodiscard]] constexpr std::uint64_t frame_length(std::size_t source, std::size_t data, std::size_t metadata,
                                                   std::size_t trailer = 0) noexcept {
  return align_frame(kFrameHeaderSize + source + data + metadata + trailer);
}

}  // namespace detail
}  // namespace tradpal
