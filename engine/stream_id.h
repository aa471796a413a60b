// engine/stream_id.h
//
// StreamId: the id Redis gives a stream entry, `<ms>-<seq>` (two unsigned
// 64-bit numbers, ordered by ms then seq). Events that came from the shared
// stream carry theirs through the bus (EventView::stream_id()), so a
// subscriber can resume, acknowledge or answer with it. Pure value type:
// any thread; parse and format allocate nothing (to_string() returns a
// std::string).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tradpal {

struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;

  // Longest text form: two 20-digit numbers and the dash.
  static constexpr std::size_t kMaxText = 41;

  // "<ms>-<seq>" or "<ms>" (seq 0); anything else is std::nullopt.
  [[nodiscard]] static std::optional<StreamId> parse(std::string_view text) noexcept;
  // Writes "<ms>-<seq>" into `out` (at least kMaxText bytes); returns its length.
  std::size_t format(char* out) const noexcept;
  [[nodiscard]] std::string to_string() const;
  friend auto operator<=>(const StreamId&, const StreamId&) = default;
};

}  // namespace tradpal
