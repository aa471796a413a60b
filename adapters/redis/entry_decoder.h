// adapters/redis/entry_decoder.h
//
// Turns one stream entry as hiredis returns it (`[id, [field, value, ...]]`)
// into a StoredEvent, or skips it. Entries that cannot be decoded (no
// `event` field, not JSON, unknown type, ...) are never fatal: SkipCounter
// counts them per tradpal::DecodeError kind and logs the first of each kind
// once. decode_entry may run on any thread; a SkipCounter may be shared.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/event.h"
#include "engine/event_json.h"

struct redisReply;

namespace tradpal::redis {

// An event read from the stream, with the id Redis gave it.
struct StoredEvent {
  std::string id;
  Event event;
};

class SkipCounter {
 public:
  // An entry without an `event` field counts as missing_field.
  void record(DecodeError kind, std::string_view entry_id) noexcept;
  [[nodiscard]] std::uint64_t count(DecodeError kind) const noexcept {
    return counts_[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t total() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kDecodeErrorCount> counts_{};
  std::array<std::atomic<bool>, kDecodeErrorCount> logged_{};
};

// The value of the `event` field of an entry's field list, if present.
[[nodiscard]] std::optional<std::string_view> event_field(const redisReply* fields) noexcept;

// Decodes `[id, fields]`; std::nullopt (counted in `skips`) when it is not a
// TradPal event. Allocates the StoredEvent.
[[nodiscard]] std::optional<StoredEvent> decode_entry(const redisReply* entry, SkipCounter& skips);

// The same without a copy: fills `out` with views that stay valid until the
// next decode on this thread (see tradpal::decode_event_view) and returns
// true, or returns false having counted the entry in `skips`. Allocates
// nothing once the thread's decoder has seen an entry as large.
[[nodiscard]] bool decode_entry_view(const redisReply* entry, SkipCounter& skips, EventFields& out);

// The id of an entry reply, or empty when the reply has no such shape.
[[nodiscard]] std::string_view entry_id(const redisReply* entry) noexcept;

}  // namespace tradpal::redis
