#include "engine/uuid.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>

#include "engine/clock.h"

namespace tradpal {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// A hex digit's value, or 0xff: one load per character, and an invalid one
// shows as a high bit that a whole text's values ORed together keep.
constexpr std::array<std::uint8_t, 256> kHexValue = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(c - 'A' + 10);
  return t;
}();

// Where each byte's two digits start in 8-4-4-4-12 text.
constexpr std::array<std::uint8_t, 16> kByteAt = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};

}  // namespace

namespace detail {
void seed_uuid_rng(UuidRng& rng) noexcept {
  try {
    std::random_device rd;
    for (auto& word : rng.s) word = (std::uint64_t{rd()} << 32) ^ rd();
  } catch (...) {
    // No entropy source: the time, the thread and a counter, spread by
    // splitmix64, still keep threads and runs apart.
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t x = static_cast<std::uint64_t>(detail::realtime_ns()) ^
                      (reinterpret_cast<std::uintptr_t>(&rng) << 1) ^ counter.fetch_add(1);
    for (auto& word : rng.s) {
      x += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }
  if (!rng.seeded()) rng.s[0] = 1;  // all zero would mean "not seeded" and never move
}
}  // namespace detail

std::optional<Uuid> Uuid::parse(std::string_view text) noexcept {
  // Read on every event that comes from Redis: no branch per character.
  if (text.size() != kTextSize || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-') {
    return std::nullopt;
  }
  Uuid u;
  unsigned seen = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const unsigned hi = kHexValue[static_cast<unsigned char>(text[kByteAt[i]])];
    const unsigned lo = kHexValue[static_cast<unsigned char>(text[kByteAt[i] + 1])];
    seen |= hi | lo;
    u.bytes[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0f));
  }
  if ((seen & 0xf0) != 0) return std::nullopt;
  return u;
}

void Uuid::format(char* out) const noexcept {
  std::size_t o = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[bytes[i] >> 4];
    out[o++] = kHex[bytes[i] & 0x0f];
  }
}

std::string Uuid::to_string() const {
  std::string s(kTextSize, '\0');
  format(s.data());
  return s;
}

}  // namespace tradpal
