// adapters/http/detail/framing_check.h
//
// FramingCheck: RFC 9112's syntax for where a request starts and ends,
// checked on the raw bytes before http-parser sees them. http-parser as
// Debian builds it (without HTTP_PARSER_STRICT) accepts bare LF line ends,
// obs-folded field lines, whitespace before a field's colon or before the
// first field, junk after a chunk size and chunk data not followed by CRLF.
// A proxy in front that reads such a request otherwise than we do can hide
// a second request inside the first (request smuggling); so the connection
// gives the parser only bytes this check has passed, and answers 400 at the
// first byte it refuses.
//
// What it checks, byte by byte and across reads:
//   request line   method SP target SP HTTP/d.d CRLF: one space each, an
//                  ASCII target (bytes >= 0x80 refused, RFC 9112 3), no
//                  control characters (empty lines before it are skipped)
//   field lines    token ":" value CRLF: the name a token, no whitespace
//                  before the colon, no line starting with whitespace (obs-
//                  fold), no control character in the value but HTAB
//   body           Content-Length bytes, or chunked: HEXDIG size (at most
//                  16 digits), optional extensions after ";", CRLF, the data,
//                  CRLF; after the last chunk, trailer field lines as above
//                  and the final CRLF
// What the field values mean (Content-Length against Transfer-Encoding,
// Host) is checked by the connection once the header section is complete.
//
// One per connection, on its loop thread; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tradpal::http::detail {

class FramingCheck {
 public:
  enum class Body : std::uint8_t { none, length, chunked };

  struct Verdict {
    std::size_t accepted = 0;  // leading bytes of the input the parser may have now
    const char* error = nullptr;  // set: the byte after `accepted` is refused, for this reason
  };

  // Checks the input from its start (the bytes the parser has not taken).
  // Accepts at most up to the end of the current part: the header section
  // (then the caller must call body()), or the message (then next_message()).
  [[nodiscard]] Verdict check(std::string_view input) noexcept;

  // The header section has been accepted whole and the parser has read it:
  // how its body is framed.
  void body(Body kind, std::uint64_t length = 0) noexcept;
  // The parser finished the message: what follows starts a new request.
  void next_message() noexcept;

  // True between the end of an accepted header section and body().
  [[nodiscard]] bool awaiting_body() const noexcept { return state_ == State::kAwaitBody; }
  // True once the message's last byte has been accepted.
  [[nodiscard]] bool message_done() const noexcept { return state_ == State::kDone; }

 private:
  enum class State : std::uint8_t {
    kStart,          // before the request line (empty lines allowed)
    kStartLF,        // an empty line's CR seen
    kMethod,
    kTarget,
    kVersion,
    kLineLF,         // CR of a line seen: LF must follow
    kFieldStart,     // a field line or the section's final CRLF
    kFieldName,
    kFieldValue,
    kSectionLF,      // the final CR seen
    kAwaitBody,
    kLengthBody,
    kChunkSize,
    kChunkExt,
    kChunkSizeLF,
    kChunkData,
    kChunkDataCR,
    kChunkDataLF,
    kDone,
  };

  State state_ = State::kStart;
  bool in_trailer_ = false;      // field lines belong to a chunked body's trailer
  bool chunk_ext_started_ = false;  // whitespace after the size must lead to ';'
  std::size_t token_len_ = 0;    // length of the method, target, name or size so far
  std::uint64_t remaining_ = 0;  // body or chunk bytes still to come
};

}  // namespace tradpal::http::detail
