#include "engine/stream_cursor.h"

#include <algorithm>

namespace tradpal {

std::string format_stream_cursor(const StreamCursor& cursor) {
  std::string out;
  char id[StreamId::kMaxText];
  for (std::size_t i = 0; i < cursor.size(); ++i) {
    if (i != 0) out += ',';
    out.append(id, cursor[i].format(id));
  }
  return out;
}

std::optional<StreamCursor> parse_stream_cursor(std::string_view text) {
  StreamCursor out;
  for (;;) {
    const auto comma = text.find(',');
    const auto id = StreamId::parse(text.substr(0, comma));
    if (!id) return std::nullopt;
    out.push_back(*id);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

bool cursor_within(const StreamCursor& a, const StreamCursor& b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
  }
  return true;
}

void advance_cursor(StreamCursor& cursor, const StreamCursor& by) {
  if (cursor.size() != by.size()) {
    cursor = by;
    return;
  }
  for (std::size_t i = 0; i < cursor.size(); ++i) cursor[i] = std::max(cursor[i], by[i]);
}

}  // namespace tradpal
