#include "adapters/redis/stream_id.h"

#include <charconv>

namespace tradpal::redis {

std::optional<StreamId> StreamId::parse(std::string_view text) noexcept {
  StreamId id;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, id.ms);
  if (ec != std::errc{} || p == text.data()) return std::nullopt;
  if (p == end) return id;
  if (*p != '-') return std::nullopt;
  const char* seq_start = p + 1;
  auto [q, ec2] = std::from_chars(seq_start, end, id.seq);
  if (ec2 != std::errc{} || q != end || q == seq_start) return std::nullopt;
  return id;
}

std::string StreamId::to_string() const { return std::to_string(ms) + '-' + std::to_string(seq); }

namespace {
std::uint64_t millis(TimestampNs t) noexcept {
  // Floor division: an end time inside a millisecond covers that millisecond.
  return t <= 0 ? 0 : static_cast<std::uint64_t>(t / 1'000'000);
}
}  // namespace

std::string start_id_for(TimestampNs t) { return std::to_string(millis(t)) + "-0"; }

std::string end_id_for(TimestampNs t) {
  if (t < 0) return "0-0";
  return std::to_string(millis(t)) + "-18446744073709551615";
}

TimestampNs id_time(const StreamId& id) noexcept { return static_cast<TimestampNs>(id.ms) * 1'000'000; }

}  // namespace tradpal::redis
