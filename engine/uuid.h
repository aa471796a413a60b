// engine/uuid.h
//
// Uuid: a 16-byte UUID with its canonical 8-4-4-4-12 lower-case text form.
// generate_v4() may be called from any thread; it draws from a per-thread
// generator seeded once from std::random_device, so it never locks and never
// allocates. Parsing accepts upper or lower case and reports malformed text
// with std::nullopt.
#pragma once

#include <array>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tradpal {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  static constexpr std::size_t kTextSize = 36;

  // A random (version 4, RFC 4122 variant) identifier.
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

}  // namespace tradpal
