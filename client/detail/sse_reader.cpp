#include "client/detail/sse_reader.h"

namespace tradpal::client::detail {

bool SseReader::feed(std::string_view bytes) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c != '\n' && c != '\r') continue;
    if (c == '\n' && last_was_cr_ && i == start && partial_.empty()) {
      // The LF of a CRLF whose CR ended the previous line.
      start = i + 1;
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = c == '\r';
    if (partial_.empty()) {
      line(bytes.substr(start, i - start));
    } else {
      partial_.append(bytes.substr(start, i - start));
      line(partial_);
      partial_.clear();
    }
    start = i + 1;
  }
  if (start < bytes.size()) {
    last_was_cr_ = false;
    if (partial_.size() + (bytes.size() - start) > max_line_) return false;
    partial_.append(bytes.substr(start));
  }
  return true;
}

void SseReader::line(std::string_view l) {
  if (l.empty()) {
    if (current_.has_data || current_.has_id || !current_.event.empty()) on_message_(current_);
    current_ = SseMessage{};
    return;
  }
  if (l.front() == ':') return;  // a comment (heartbeats, ": connected")
  std::string_view field = l, value;
  if (const auto colon = l.find(':'); colon != std::string_view::npos) {
    field = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (current_.has_data) current_.data += '\n';
    current_.data.append(value);
    current_.has_data = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "id") {
    current_.id = std::string(value);
    current_.has_id = true;
  }
  // `retry:` and unknown fields are ignored, as the format says.
}

}  // namespace tradpal::client::detail
