#include "engine/uuid.h"

#include <array>
#include <cstring>
#include <random>

namespace tradpal {
namespace {

// xoshiro256** by Blackman and Vigna: fast, 256 bits of state, and good
// enough statistically for identifiers (it is not a cryptographic source,
// and event ids are not secrets).
class Xoshiro256 {
 public:
  Xoshiro256() {
    std::random_device rd;
    for (auto& s : state_) s = (std::uint64_t{rd()} << 32) ^ rd();
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4];
};

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

Uuid Uuid::generate_v4() noexcept {
  // The generator is constructed on a thread's first call; random_device may
  // throw only when no entropy source exists at all, which would already have
  // failed at start-up in the same thread.
  thread_local Xoshiro256 rng;
  Uuid u;
  const std::uint64_t hi = rng.next();
  const std::uint64_t lo = rng.next();
  // Byte order does not matter for random bits: copy the words as they are.
  std::memcpy(u.bytes.data(), &hi, 8);
  std::memcpy(u.bytes.data() + 8, &lo, 8);
  u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
  u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

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
