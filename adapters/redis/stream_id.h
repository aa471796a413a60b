// adapters/redis/stream_id.h
//
// The mapping from times to Redis stream entry ids (StreamId, in
// engine/stream_id.h) that the wire contract fixes (CONTRACT.md §1): a start
// time is `<ms>-0`, an end time `<ms>-18446744073709551615`, with ms counted from
// the Unix epoch in UTC. Pure functions: any thread, no allocation except
// the std::string results.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/stream_id.h"
#include "engine/timestamp.h"

namespace tradpal::redis {

// The id type itself is the engine's: events carry it through the bus.
using tradpal::StreamId;

// The first id at or after `t` (times before the epoch map to 0-0).
[[nodiscard]] std::string start_id_for(TimestampNs t);
// The last id within the millisecond of `t`.
[[nodiscard]] std::string end_id_for(TimestampNs t);
// The millisecond an id was created at, as a TimestampNs.
[[nodiscard]] TimestampNs id_time(const StreamId& id) noexcept;

}  // namespace tradpal::redis
