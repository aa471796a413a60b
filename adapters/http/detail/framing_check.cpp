#include "adapters/http/detail/framing_check.h"

#include <algorithm>

namespace tradpal::http::detail {
namespace {

constexpr char kCR = '\r';
constexpr char kLF = '\n';

// RFC 9110 tchar: the characters of a method or a field name.
constexpr bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// Visible ASCII, or a byte of obs-text (kept: high bytes cannot end a line).
constexpr bool is_visible(unsigned char c) noexcept { return (c > 0x20 && c < 0x7f) || c >= 0x80; }

constexpr bool is_space(unsigned char c) noexcept { return c == ' ' || c == '\t'; }

constexpr int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::size_t kMaxChunkSizeDigits = 16;  // 64 bits

}  // namespace

void FramingCheck::body(Body kind, std::uint64_t length) noexcept {
  token_len_ = 0;
  remaining_ = 0;
  switch (kind) {
    case Body::none:
      state_ = State::kDone;
      return;
    case Body::length:
      remaining_ = length;
      state_ = length == 0 ? State::kDone : State::kLengthBody;
      return;
    case Body::chunked:
      chunk_ext_started_ = false;
      state_ = State::kChunkSize;
      return;
  }
}

void FramingCheck::next_message() noexcept {
  state_ = State::kStart;
  in_trailer_ = false;
  chunk_ext_started_ = false;
  token_len_ = 0;
  remaining_ = 0;
}

FramingCheck::Verdict FramingCheck::check(std::string_view input) noexcept {
  std::size_t i = 0;
  auto refuse = [&](const char* why) { return Verdict{i, why}; };
  while (i < input.size()) {
    const auto c = static_cast<unsigned char>(input[i]);
    switch (state_) {
      case State::kStart:
        if (c == kCR) {
          state_ = State::kStartLF;  // an empty line before the request
        } else if (is_tchar(c)) {
          token_len_ = 1;
          state_ = State::kMethod;
        } else {
          return refuse("Bad Request: malformed request line");
        }
        break;
      case State::kStartLF:
        if (c != kLF) return refuse("Bad Request: CR without LF");
        state_ = State::kStart;
        break;
      case State::kMethod:
        if (c == ' ') {
          token_len_ = 0;
          state_ = State::kTarget;
        } else if (!is_tchar(c)) {
          return refuse("Bad Request: malformed request line");
        }
        break;
      case State::kTarget:
        if (c == ' ') {
          if (token_len_ == 0) return refuse("Bad Request: malformed request line");
          token_len_ = 0;
          state_ = State::kVersion;
        } else if (c > 0x20 && c < 0x7f) {
          ++token_len_;
        } else {
          // Control characters, and bytes >= 0x80 (RFC 9112 3: a target is
          // ASCII; clients percent-encode the rest).
          return refuse("Bad Request: malformed request line");
        }
        break;
      case State::kVersion: {
        // Exactly HTTP/<digit>.<digit>: the parser, built lenient, would
        // take "H" as a version and then swallow what follows.
        static constexpr std::string_view kShape = "HTTP/0.0";
        if (c == kCR && token_len_ == kShape.size()) {
          state_ = State::kLineLF;
          break;
        }
        const bool digit = token_len_ < kShape.size() && kShape[token_len_] == '0';
        const bool fits = token_len_ < kShape.size() &&
                          (digit ? (c >= '0' && c <= '9') : c == static_cast<unsigned char>(kShape[token_len_]));
        if (!fits) {
          return refuse(c == kLF ? "Bad Request: a line ends in LF without CR" : "Bad Request: malformed HTTP version");
        }
        ++token_len_;
        break;
      }
      case State::kLineLF:
        if (c != kLF) return refuse("Bad Request: CR without LF");
        state_ = State::kFieldStart;
        break;
      case State::kFieldStart:
        if (c == kCR) {
          state_ = State::kSectionLF;
        } else if (is_tchar(c)) {
          token_len_ = 1;
          state_ = State::kFieldName;
        } else if (is_space(c)) {
          return refuse("Bad Request: a field line starts with whitespace (obsolete line folding)");
        } else {
          return refuse(c == kLF ? "Bad Request: a line ends in LF without CR" : "Bad Request: malformed field name");
        }
        break;
      case State::kFieldName:
        if (c == ':') {
          state_ = State::kFieldValue;
        } else if (is_tchar(c)) {
          ++token_len_;
        } else {
          return refuse(is_space(c) ? "Bad Request: whitespace in a field name or before its colon"
                                    : "Bad Request: malformed field name");
        }
        break;
      case State::kFieldValue:
        if (c == kCR) {
          state_ = State::kLineLF;
        } else if (!is_visible(c) && !is_space(c)) {
          return refuse(c == kLF ? "Bad Request: a line ends in LF without CR"
                                 : "Bad Request: a control character in a field value");
        }
        break;
      case State::kSectionLF:
        if (c != kLF) return refuse("Bad Request: CR without LF");
        ++i;
        if (in_trailer_) {
          state_ = State::kDone;
        } else {
          state_ = State::kAwaitBody;
        }
        // The parser reads up to here; the body's framing comes from it.
        return Verdict{i, nullptr};
      case State::kAwaitBody:
      case State::kDone:
        return Verdict{i, nullptr};
      case State::kLengthBody: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - i));
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) {
          state_ = State::kDone;
          return Verdict{i, nullptr};
        }
        continue;
      }
      case State::kChunkSize: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (++token_len_ > kMaxChunkSizeDigits) return refuse("Bad Request: chunk size too long");
          remaining_ = remaining_ * 16 + static_cast<unsigned>(v);
        } else if (token_len_ == 0) {
          return refuse("Bad Request: malformed chunk size");
        } else if (c == ';') {
          chunk_ext_started_ = true;
          state_ = State::kChunkExt;
        } else if (is_space(c)) {
          chunk_ext_started_ = false;  // only whitespace before a ';' is allowed
          state_ = State::kChunkExt;
        } else if (c == kCR) {
          state_ = State::kChunkSizeLF;
        } else {
          return refuse("Bad Request: malformed chunk size");
        }
        break;
      }
      case State::kChunkExt:
        if (c == kCR) {
          if (!chunk_ext_started_) return refuse("Bad Request: malformed chunk size");
          state_ = State::kChunkSizeLF;
        } else if (!chunk_ext_started_) {
          if (c == ';') {
            chunk_ext_started_ = true;
          } else if (!is_space(c)) {
            return refuse("Bad Request: malformed chunk size");
          }
        } else if (!is_visible(c) && !is_space(c)) {
          return refuse("Bad Request: malformed chunk extension");
        }
        break;
      case State::kChunkSizeLF:
        if (c != kLF) return refuse("Bad Request: CR without LF");
        token_len_ = 0;
        if (remaining_ == 0) {
          in_trailer_ = true;  // the last chunk: trailer fields, then CRLF
          state_ = State::kFieldStart;
        } else {
          state_ = State::kChunkData;
        }
        break;
      case State::kChunkData: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - i));
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kChunkDataCR;
        continue;
      }
      case State::kChunkDataCR:
        if (c != kCR) return refuse("Bad Request: chunk data not followed by CRLF");
        state_ = State::kChunkDataLF;
        break;
      case State::kChunkDataLF:
        if (c != kLF) return refuse("Bad Request: chunk data not followed by CRLF");
        token_len_ = 0;
        remaining_ = 0;
        chunk_ext_started_ = false;
        state_ = State::kChunkSize;
        break;
    }
    ++i;
  }
  return Verdict{i, nullptr};
}

}  // namespace tradpal::http::detail
