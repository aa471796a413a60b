#include "engine/timestamp.h"

#include <ctime>

namespace tradpal {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kSecondsPerDay = 86'400;

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of days_from_civil (the era/day-of-era decomposition keeps every
// step in non-negative integers).
constexpr Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

void put_digits(char* out, std::int64_t value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Reads exactly `width` decimal digits at text[pos]; -1 when any is missing.
std::int64_t read_digits(std::string_view text, std::size_t pos, std::size_t width) noexcept {
  if (pos + width > text.size()) return -1;
  std::int64_t v = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    v = v * 10 + (text[i] - '0');
  }
  return v;
}

}  // namespace

void format_iso_timestamp(TimestampNs ts, char* out) noexcept {
  std::int64_t seconds = ts / kNsPerSecond;
  std::int64_t nanos = ts % kNsPerSecond;
  if (nanos < 0) {
    nanos += kNsPerSecond;
    seconds -= 1;
  }
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t sod = seconds % kSecondsPerDay;
  if (sod < 0) {
    sod += kSecondsPerDay;
    days -= 1;
  }
  const Civil c = civil_from_days(days);
  put_digits(out, c.year, 4);
  out[4] = '-';
  put_digits(out + 5, c.month, 2);
  out[7] = '-';
  put_digits(out + 8, c.day, 2);
  out[10] = 'T';
  put_digits(out + 11, sod / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, (sod / 60) % 60, 2);
  out[16] = ':';
  put_digits(out + 17, sod % 60, 2);
  out[19] = '.';
  put_digits(out + 20, nanos / 1000, 6);
}

std::string format_iso_timestamp(TimestampNs ts) {
  std::string s(kIsoTimestampSize, '\0');
  format_iso_timestamp(ts, s.data());
  return s;
}

std::optional<TimestampNs> parse_iso_timestamp(std::string_view text) noexcept {
  const std::int64_t year = read_digits(text, 0, 4);
  if (year < 0 || text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const std::int64_t month = read_digits(text, 5, 2);
  const std::int64_t day = read_digits(text, 8, 2);
  // 64-bit nanoseconds span 1677-09-21 to 2262-04-11; stay well inside.
  if (year < 1678 || year > 2261) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, static_cast<unsigned>(month))) {
    return std::nullopt;
  }
  std::int64_t sod = 0;
  std::int64_t nanos = 0;
  std::int64_t offset_seconds = 0;
  std::size_t pos = 10;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
    const std::int64_t hh = read_digits(text, pos + 1, 2);
    if (hh < 0 || hh > 23 || pos + 3 >= text.size() || text[pos + 3] != ':') return std::nullopt;
    const std::int64_t mm = read_digits(text, pos + 4, 2);
    if (mm < 0 || mm > 59) return std::nullopt;
    pos += 6;
    std::int64_t ss = 0;
    if (pos < text.size() && text[pos] == ':') {
      ss = read_digits(text, pos + 1, 2);
      if (ss < 0 || ss > 59) return std::nullopt;
      pos += 3;
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        std::size_t digits = 0;
        std::int64_t scale = kNsPerSecond;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (digits < 9) {
            scale /= 10;
            nanos += (text[pos] - '0') * scale;
          }
          ++digits;
          ++pos;
        }
        if (digits == 0) return std::nullopt;
      }
    }
    sod = hh * 3600 + mm * 60 + ss;
    if (pos < text.size()) {
      if (text[pos] == 'Z' && pos + 1 == text.size()) {
        pos += 1;
      } else if (text[pos] == '+' || text[pos] == '-') {
        const std::int64_t oh = read_digits(text, pos + 1, 2);
        if (oh < 0 || oh > 23) return std::nullopt;
        std::int64_t om = 0;
        std::size_t end = pos + 3;
        if (end < text.size()) {
          if (text[end] == ':') ++end;
          om = read_digits(text, end, 2);
          if (om < 0 || om > 59) return std::nullopt;
          end += 2;
        }
        offset_seconds = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        pos = end;
      }
      if (pos != text.size()) return std::nullopt;
    }
  }
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  // A local time at +HH:MM is that much ahead of UTC, so UTC = local - offset.
  return (days * kSecondsPerDay + sod - offset_seconds) * kNsPerSecond + nanos;
}

}  // namespace tradpal
