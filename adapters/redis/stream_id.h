// adapters/redis/stream_id.h
//
// StreamId: a Redis stream entry id `<ms>-<seq>`, and the mapping from
// times to ids the wire contract fixes (CONTRACT.md §1): a start time is
// `<ms>-0`, an end time `<ms>-18446744073709551615`, with ms counted from
// the Unix epoch in UTC. Pure functions: any thread, no allocation except
// the std::string results.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/timestamp.h"

namespace tradpal::redis {

struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  // "<ms>-<seq>" or "<ms>" (seq 0); anything else is std::nullopt.
  [[nodiscard]] static std::optional<StreamId> parse(std::string_view text) noexcept;
  [[nodiscard]] std::string to_string() const;
  friend auto operator<=>(const StreamId&, const StreamId&) = default;
};

// The first id at or after `t` (times before the epoch map to 0-0).
[[nodiscard]] std::string start_id_for(TimestampNs t);
// The last id within the millisecond of `t`.
[[nodiscard]] std::string end_id_for(TimestampNs t);
// The millisecond an id was created at, as a TimestampNs.
[[nodiscard]] TimestampNs id_time(const StreamId& id) noexcept;

}  // namespace tradpal::redis
