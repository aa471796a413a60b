#include "engine/stream_id.h"

#include <charconv>

namespace tradpal {

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

std::size_t StreamId::format(char* out) const noexcept {
  char* p = std::to_chars(out, out + 20, ms).ptr;
  *p++ = '-';
  p = std::to_chars(p, p + 20, seq).ptr;
  return static_cast<std::size_t>(p - out);
}

std::string StreamId::to_string() const {
  char buf[kMaxText];
  return std::string(buf, format(buf));
}

}  // namespace tradpal
