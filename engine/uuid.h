// engine/uuid.h
//
// Uuid: a 16-byte UUID with its canonical 8-4-4-4-12 lower-case text form.
// generate_v4() may be called from any thread; it draws from a per-thread
// generator seeded once from std::random_device, so it never locks and never
// allocates. Parsing accepts upper or lower case and reports malformed text
// with std::nullopt.
#pragma once

#include <array>
#include <bit>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tradpal {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  static constexpr std::size_t kTextSize = 36;

  // A random (version 4, RFC 4122 variant) identifier. Inline: it is on
  // every publish that leaves the id to the bus.
  [[nodiscard]] static Uuid generate_v4() noexcept;

  // Parses the canonical 36-character form; anything else is std::nullopt.
  [[nodiscard]] static std::optional<Uuid> parse(std::string_view text) noexcept;

  // Writes exactly kTextSize characters to `out` (no terminator).
  void format(char* out) const noexcept;
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] int version() const noexcept { return bytes[6] >> 4; }
  // All zero: two 8-byte loads and an OR, no byte-wise compare with a
  // temporary.
  [[nodiscard]] bool is_nil() const noexcept {
    std::uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, bytes.data(), 8);
    std::memcpy(&hi, bytes.data() + 8, 8);
    return (lo | hi) == 0;
  }
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

namespace detail {
// xoshiro256** by Blackman and Vigna, one state per thread: fast, 256 bits
// of state, and good enough statistically for identifiers (it is not a
// cryptographic source, and event ids are not secrets). All zero until the
// thread's first id seeds it from std::random_device (a seeded state is
// never all zero), so it needs no guard: constant-initialised TLS.
struct UuidRng {
  std::uint64_t s[4];
  [[nodiscard]] bool seeded() const noexcept { return (s[0] | s[1] | s[2] | s[3]) != 0; }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
};
inline thread_local constinit UuidRng uuid_rng{};
// Seeds this thread's generator (uuid.cpp). random_device may throw only
// when no entropy source exists at all; the seed then comes from the clock
// and the thread, which still gives distinct ids.
void seed_uuid_rng(UuidRng& rng) noexcept;
}  // namespace detail

inline Uuid Uuid::generate_v4() noexcept {
  detail::UuidRng& rng = detail::uuid_rng;
  if (!rng.seeded()) [[unlikely]] detail::seed_uuid_rng(rng);
  std::uint64_t hi = rng.next();
  std::uint64_t lo = rng.next();
  // Byte order does not matter for random bits: the words are copied as they
  // are, with the version (byte 6) and variant (byte 8) bits set in the
  // words first. Setting them byte by byte in memory made every reader of
  // the 16 bytes wait for two narrow stores to drain (a failed store
  // forward, the single largest cost of a batch claim).
  if constexpr (std::endian::native == std::endian::little) {
    hi = (hi & ~(std::uint64_t{0xf0} << 48)) | (std::uint64_t{0x40} << 48);  // version 4
    lo = (lo & ~std::uint64_t{0xc0}) | 0x80;                                  // RFC 4122 variant
  } else {
    hi = (hi & ~(std::uint64_t{0xf0} << 8)) | (std::uint64_t{0x40} << 8);
    lo = (lo & ~(std::uint64_t{0xc0} << 56)) | (std::uint64_t{0x80} << 56);
  }
  Uuid u;
  std::memcpy(u.bytes.data(), &hi, 8);
  std::memcpy(u.bytes.data() + 8, &lo, 8);
  return u;
}

}  // namespace tradpal
