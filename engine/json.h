// engine/json.h
//
// JSON helpers around simdjson On-Demand: parse an event's data or metadata in
// place (no copy: the ring keeps readable bytes after every frame, as simdjson
// needs; see detail/frame.h), check
// that a text is a JSON object, and escape strings the way Python's
// json.dumps does (non-ASCII as \uXXXX). Any thread; a parser is one thread's.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "engine/detail/frame.h"
#include "engine/event_view.h"

namespace tradpal {

static_assert(detail::kJsonPadding >= simdjson::SIMDJSON_PADDING, "the ring must keep simdjson's padding readable");

// Parses the event's data object in place. The document borrows the ring's
// bytes: use it only inside the handler that received `view`.
[[nodiscard]] inline simdjson::simdjson_result<simdjson::ondemand::document> parse_data(
    simdjson::ondemand::parser& parser, const EventView& view) noexcept {
  return parser.iterate(view.data().data(), view.data().size(), view.data_capacity());
}

[[nodiscard]] inline simdjson::simdjson_result<simdjson::ondemand::document> parse_metadata(
    simdjson::ondemand::parser& parser, const EventView& view) noexcept {
  return parser.iterate(view.metadata().data(), view.metadata().size(), view.metadata_capacity());
}

// True when the whole document has been read: no trailing content follows
// the root value. (simdjson 3.0 has no document::at_end().)
[[nodiscard]] inline bool fully_consumed(simdjson::ondemand::document& doc) noexcept {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

// The text without leading and trailing JSON white space.
[[nodiscard]] std::string_view trim_json(std::string_view text) noexcept;

// Cheap shape check used on the publish path: `{` ... `}` after trimming.
// Full validation belongs where untrusted input enters (HTTP, Redis).
[[nodiscard]] inline bool looks_like_object(std::string_view text) noexcept {
  const std::string_view t = trim_json(text);
  return t.size() >= 2 && t.front() == '{' && t.back() == '}';
}

// Deepest nesting we accept; Python's json.loads gives up near 1000 levels.
inline constexpr int kMaxJsonDepth = 512;

// True when `text` is exactly one valid JSON object (every value read).
[[nodiscard]] bool is_json_object(std::string_view text);
// The same check for the publish path: noexcept, and allocation-free once
// the calling thread has checked a text at least as large (it keeps a
// padded copy buffer and a parser per thread; the copy is what makes the
// caller's unpadded bytes safe to parse). false also when the buffer cannot
// grow (out of memory).
[[nodiscard]] bool is_json_object_fast(std::string_view text) noexcept;
// True when the event's data and metadata are each exactly one valid JSON
// object, read in place. The publish path only checks their shape
// (looks_like_object); whoever stores or forwards events validates with
// this, so nothing unreadable is ever written where others read it.
[[nodiscard]] bool has_valid_json(const EventView& view);

// simdjson's On-Demand code is compiled into whoever calls it, for the CPU
// that code was compiled for: its types live in a namespace named after the
// kernel (icelake, haswell, westmere, fallback). So no function of this
// library takes or returns an On-Demand type (a program built with other
// flags could not link it), and parse_data() above runs the caller's kernel.
// The kernel the library's own parsing (validation, decoding) was built for:
[[nodiscard]] std::string_view json_kernel() noexcept;
// The kernel the calling code gets: "fallback" unless it was compiled with
// -march=native (or at least -mavx2 -mbmi -mpclmul for "haswell").
#define TRADPAL_JSON_KERNEL_STRING_(k) #k
#define TRADPAL_JSON_KERNEL_STRING(k) TRADPAL_JSON_KERNEL_STRING_(k)
[[nodiscard]] inline std::string_view caller_json_kernel() noexcept {
  return TRADPAL_JSON_KERNEL_STRING(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

// Size of `text` as a quoted JSON string in json.dumps' default style
// (ensure_ascii): quotes included.
[[nodiscard]] std::size_t quoted_size(std::string_view text) noexcept;
// Writes the quoted form (exactly quoted_size(text) bytes); returns the end.
char* write_quoted(std::string_view text, char* out) noexcept;
void append_quoted(std::string& out, std::string_view text);

}  // namespace tradpal
