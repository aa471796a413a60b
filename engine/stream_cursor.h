// engine/stream_cursor.h
//
// StreamCursor: a position in one logical stream kept as N partition
// streams (adapters/redis/partitioning.h): the last stream id of each
// partition, in partition order. Partitions are ordered each on its own,
// not against each other, so one id cannot say where a reader stands; the
// cursor can, exactly. Its text form joins the ids with commas
// ("<id0>,<id1>,..."): with one partition it is a plain stream id, so a
// single-stream reader sees nothing new. eventd names each stream event by
// the cursor after it (the SSE id), and takes one back as Last-Event-ID.
//
// Pure values and functions: any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/stream_id.h"

namespace tradpal {

using StreamCursor = std::vector<StreamId>;

// "<id0>,<id1>,...".
[[nodiscard]] std::string format_stream_cursor(const StreamCursor& cursor);
// One or more stream ids, comma-separated; std::nullopt for anything else
// (an empty part included).
[[nodiscard]] std::optional<StreamCursor> parse_stream_cursor(std::string_view text);
// `a` is at or behind `b` in every partition: nothing after `b` is in `a`.
// Cursors of different partition counts are never so.
[[nodiscard]] bool cursor_within(const StreamCursor& a, const StreamCursor& b) noexcept;
// Moves `cursor` forward to `by` in each partition where it is behind
// (a cursor of another partition count is taken whole).
void advance_cursor(StreamCursor& cursor, const StreamCursor& by);

}  // namespace tradpal
