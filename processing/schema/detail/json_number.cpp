// processing/schema/detail/json_number.cpp
#include "processing/schema/detail/json_number.h"

#include <array>
#include <cfloat>
#include <charconv>
#include <cmath>

namespace tradpal::schema::detail {
namespace {

// 2^63 and 2^64 are exact doubles: every double at or beyond them is out of
// the range of the integer kinds, every double below truncates into it.
constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

int sign_of(double d) noexcept { return d > 0 ? 1 : (d < 0 ? -1 : 0); }

// Compares an integer against a double with no rounding: the integral parts
// compare as integers, the fraction breaks a tie.
// Integers up to 2^53 in magnitude convert to double exactly: then the
// double compare is exact, and it is the common case (a bound of 0).
constexpr std::int64_t kExactInDouble = std::int64_t{1} << 53;

int compare_int_double(std::int64_t a, double b) noexcept {
  if (a >= -kExactInDouble && a <= kExactInDouble) {
    const auto x = static_cast<double>(a);
    return x < b ? -1 : (x > b ? 1 : 0);
  }
  if (b < -kTwoTo63) return 1;
  if (b >= kTwoTo63) return -1;
  const double whole = std::trunc(b);
  const auto b_int = static_cast<std::int64_t>(whole);
  if (a != b_int) return a < b_int ? -1 : 1;
  return -sign_of(b - whole);
}

int compare_uint_double(std::uint64_t a, double b) noexcept {
  if (a <= static_cast<std::uint64_t>(kExactInDouble)) {
    const auto x = static_cast<double>(a);
    return x < b ? -1 : (x > b ? 1 : 0);
  }
  if (b < 0) return 1;
  if (b >= kTwoTo64) return -1;
  const double whole = std::trunc(b);
  const auto b_int = static_cast<std::uint64_t>(whole);
  if (a != b_int) return a < b_int ? -1 : 1;
  return -sign_of(b - whole);
}

int compare_int_uint(std::int64_t a, std::uint64_t b) noexcept {
  if (a < 0) return -1;
  const auto a_unsigned = static_cast<std::uint64_t>(a);
  return a_unsigned < b ? -1 : (a_unsigned > b ? 1 : 0);
}

template <typename T>
int three_way(T a, T b) noexcept {
  return a < b ? -1 : (a > b ? 1 : 0);
}

// |n| as an unsigned integer, when n is integral and |n| < 2^64.
bool magnitude(const JsonNumber& n, std::uint64_t& out) noexcept {
  switch (n.kind) {
    case JsonNumber::Kind::int64:
      // Negating in unsigned arithmetic keeps INT64_MIN's magnitude, 2^63.
      out = n.i < 0 ? 0 - static_cast<std::uint64_t>(n.i) : static_cast<std::uint64_t>(n.i);
      return true;
    case JsonNumber::Kind::uint64:
      out = n.u;
      return true;
    case JsonNumber::Kind::float64: {
      const double a = std::fabs(n.d);
      if (a >= kTwoTo64 || a != std::trunc(a)) return false;
      out = static_cast<std::uint64_t>(a);
      return true;
    }
  }
  return false;
}

}  // namespace

JsonNumber JsonNumber::from(simdjson::dom::element e) noexcept {
  JsonNumber n;
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
      n.kind = Kind::int64;
      n.i = e.get_int64().value_unsafe();
      break;
    case simdjson::dom::element_type::UINT64:
      n.kind = Kind::uint64;
      n.u = e.get_uint64().value_unsafe();
      break;
    default:
      n.kind = Kind::float64;
      n.d = e.get_double().value_unsafe();
      break;
  }
  return n;
}

double JsonNumber::to_double() const noexcept {
  switch (kind) {
    case Kind::int64:
      return static_cast<double>(i);
    case Kind::uint64:
      return static_cast<double>(u);
    case Kind::float64:
      return d;
  }
  return d;
}

int compare(const JsonNumber& a, const JsonNumber& b) noexcept {
  using Kind = JsonNumber::Kind;
  switch (a.kind) {
    case Kind::int64:
      switch (b.kind) {
        case Kind::int64:
          return three_way(a.i, b.i);
        case Kind::uint64:
          return compare_int_uint(a.i, b.u);
        case Kind::float64:
          return compare_int_double(a.i, b.d);
      }
      break;
    case Kind::uint64:
      switch (b.kind) {
        case Kind::int64:
          return -compare_int_uint(b.i, a.u);
        case Kind::uint64:
          return three_way(a.u, b.u);
        case Kind::float64:
          return compare_uint_double(a.u, b.d);
      }
      break;
    case Kind::float64:
      switch (b.kind) {
        case Kind::int64:
          return -compare_int_double(b.i, a.d);
        case Kind::uint64:
          return -compare_uint_double(b.u, a.d);
        case Kind::float64:
          return three_way(a.d, b.d);
      }
      break;
  }
  return 0;
}

bool is_integral(const JsonNumber& n) noexcept {
  return n.kind != JsonNumber::Kind::float64 || (std::isfinite(n.d) && n.d == std::trunc(n.d));
}

bool is_multiple_of(const JsonNumber& value, const JsonNumber& divisor) noexcept {
  std::uint64_t value_magnitude = 0;
  std::uint64_t divisor_magnitude = 0;
  if (magnitude(divisor, divisor_magnitude) && divisor_magnitude != 0 && magnitude(value, value_magnitude)) {
    return value_magnitude % divisor_magnitude == 0;
  }
  const double x = value.to_double();
  const double m = divisor.to_double();
  const double quotient = x / m;
  if (!std::isfinite(quotient)) return std::fmod(x, m) == 0.0;
  const double nearest = std::nearbyint(quotient);
  // A zero quotient must be exact: a tiny value is no multiple of anything.
  if (nearest == 0.0) return quotient == 0.0;
  // Both operands carry half an ulp of decimal-to-binary error and the
  // division adds another; 16 ulps of the quotient covers them with room.
  return std::fabs(quotient - nearest) <= 16 * DBL_EPSILON * std::fabs(quotient);
}

void append_number(std::string& out, const JsonNumber& n) {
  std::array<char, 32> buffer{};
  std::to_chars_result r{};
  switch (n.kind) {
    case JsonNumber::Kind::int64:
      r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), n.i);
      break;
    case JsonNumber::Kind::uint64:
      r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), n.u);
      break;
    case JsonNumber::Kind::float64:
      r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), n.d);
      break;
  }
  out.append(buffer.data(), r.ptr);
}

}  // namespace tradpal::schema::detail
