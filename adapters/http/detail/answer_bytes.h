// adapters/http/detail/answer_bytes.h
//
// The bytes of an answer on the wire: the status line and header fields of a
// Response as the connection frames it, and the chunks of a streamed body.
// The server owns the framing fields (Content-Length, Transfer-Encoding,
// Connection): a handler's copy of one is dropped, since it would contradict
// how the connection actually frames the answer. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "adapters/http/response.h"
#include "adapters/http/detail/exchange.h"

namespace tradpal::http::detail {

// The go-ahead for a client that sent `Expect: 100-continue`.
inline constexpr std::string_view kContinueLine = "HTTP/1.1 100 Continue\r\n\r\n";
// Ends a chunked stream.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Status line and header section of `response` for `exchange` (its version,
// keep_alive and chunked flags decide the framing fields). `streaming`: the
// body follows in chunks (or until close, for HTTP/1.0), so no
// Content-Length. The result has room reserved for the body to follow.
[[nodiscard]] std::string answer_head(const Exchange& exchange, const Response& response, bool streaming);

// Appends `bytes` (not empty) to `out` as one chunk.
void append_chunk(std::string& out, std::string_view bytes);

}  // namespace tradpal::http::detail
