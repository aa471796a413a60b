// client/detail/sse_reader.h
//
// SseReader: a Server-Sent Events body → messages (the WHATWG event-stream
// format: `field: value` lines, a blank line ends a message, `:` starts a
// comment). Lines may end in LF, CRLF or CR; pieces may split anywhere.
// One thread; bounded: a line longer than max_line is an error.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tradpal::client::detail {

struct SseMessage {
  std::string event;  // the `event:` field ("" when absent: a plain message)
  std::string data;   // `data:` lines joined with '\n'
  std::string id;     // the `id:` field of this message ("" when absent)
  bool has_id = false;
  bool has_data = false;
};

class SseReader {
 public:
  explicit SseReader(std::function<void(const SseMessage&)> on_message, std::size_t max_line = 64 * 1024 * 1024)
      : on_message_(std::move(on_message)), max_line_(max_line) {}

  // false when a line outgrew max_line (the stream must be dropped).
  bool feed(std::string_view bytes);

 private:
  void line(std::string_view l);

  std::function<void(const SseMessage&)> on_message_;
  std::size_t max_line_;
  std::string partial_;
  bool last_was_cr_ = false;
  SseMessage current_;
};

}  // namespace tradpal::client::detail
