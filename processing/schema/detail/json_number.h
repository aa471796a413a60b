// processing/schema/detail/json_number.h
//
// JsonNumber: a JSON number as simdjson's DOM holds it (int64, uint64 or
// double), with exact comparison across the three kinds, so that
// 18446744073709551615 and -9223372036854775808 compare correctly with each
// other and with doubles, and draft-07's notions of "integer" (1.0 is one)
// and multipleOf. Internal to processing/schema; pure, noexcept, any thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>

namespace tradpal::schema::detail {

struct JsonNumber {
  enum class Kind : std::uint8_t { int64, uint64, float64 };
  Kind kind = Kind::int64;
  union {
    std::int64_t i;
    std::uint64_t u;
    double d;
  };

  JsonNumber() noexcept : i(0) {}
  // Precondition: e is a number (INT64, UINT64 or DOUBLE).
  [[nodiscard]] static JsonNumber from(simdjson::dom::element e) noexcept;
  [[nodiscard]] double to_double() const noexcept;
};

// -1, 0 or 1 as a <, ==, > b, exactly (no rounding through double).
[[nodiscard]] int compare(const JsonNumber& a, const JsonNumber& b) noexcept;

// True for int64/uint64, and for a double with no fractional part.
[[nodiscard]] bool is_integral(const JsonNumber& n) noexcept;

// Whether `value` is an integer multiple of `divisor` (> 0). Exact when
// both are integers; otherwise the quotient, computed in double, must lie
// within a few ulps of an integer, so that 0.0075 is a multiple of 0.0001
// although neither is exact in binary. When the quotient overflows
// (1e308 / 0.5) the exact remainder decides.
[[nodiscard]] bool is_multiple_of(const JsonNumber& value, const JsonNumber& divisor) noexcept;

// Shortest text that reads back as the same number ("0.01", "-5", "1e+308").
void append_number(std::string& out, const JsonNumber& n);

}  // namespace tradpal::schema::detail
