// engine/timestamp.h
//
// Timestamps: nanoseconds since the Unix epoch (UTC), and their ISO 8601 text
// forms. Any thread may call these; none allocates except the std::string
// convenience overloads, and none throws.
//
// Rendering follows the wire contract: naive UTC with six fraction digits,
// `2026-11-29T16:27:08.192679`, which Python's datetime.fromisoformat reads.
// Parsing accepts every form the Python services produce or accept: with or
// without a fraction (1 to 9 digits), `T` or space between date and time, a
// date alone, and an optional `Z` or `±HH:MM` offset. Naive times are UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tradpal {

// Nanoseconds since 1970-01-01T00:00:00Z.
using TimestampNs = std::int64_t;

inline constexpr std::size_t kIsoTimestampSize = 26;  // "YYYY-MM-DDTHH:MM:SS.ffffff"

// Writes exactly kIsoTimestampSize characters (no terminator). Every
// TimestampNs (years 1677 to 2262) has a four-digit year.
void format_iso_timestamp(TimestampNs ts, char* out) noexcept;
[[nodiscard]] std::string format_iso_timestamp(TimestampNs ts);

// std::nullopt when `text` is not one of the accepted forms, names an
// impossible date or time, or lies outside the years 1678..2261.
[[nodiscard]] std::optional<TimestampNs> parse_iso_timestamp(std::string_view text) noexcept;

// Days since the epoch for a proleptic Gregorian date (public for tests).
[[nodiscard]] constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace tradpal

// now_ns(), the wall clock (CLOCK_REALTIME) read through the TSC where that
// is safe, is inline in engine/clock.h, which needs TimestampNs from here.
#include "engine/clock.h"
