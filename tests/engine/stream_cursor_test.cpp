// StreamCursor: its text form both ways, what it refuses, and the order
// the stream clients rely on (cursor_within, advance_cursor).
#include <gtest/gtest.h>

#include "engine/stream_cursor.h"

namespace tradpal {
namespace {

TEST(StreamCursor, OnePartitionIsAPlainStreamId) {
  const auto c = parse_stream_cursor("1700000000000-7");
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0], (StreamId{1700000000000, 7}));
  EXPECT_EQ(format_stream_cursor(*c), "1700000000000-7");
}

TEST(StreamCursor, ManyPartitionsRoundTrip) {
  const StreamCursor c{{5, 0}, {0, 0}, {18446744073709551615ull, 18446744073709551615ull}};
  const std::string text = format_stream_cursor(c);
  EXPECT_EQ(text, "5-0,0-0,18446744073709551615-18446744073709551615");
  EXPECT_EQ(parse_stream_cursor(text), c);
  EXPECT_EQ(parse_stream_cursor("5,6-1"), (StreamCursor{{5, 0}, {6, 1}}));  // "<ms>" is seq 0, as XADD ids
}

TEST(StreamCursor, AnythingElseIsRefused) {
  for (const char* bad : {"", ",", "1-0,", ",1-0", "1-0,,2-0", "1-0;2-0", "a-b", "1-0, 2-0", "-", "1-0,-"}) {
    EXPECT_FALSE(parse_stream_cursor(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(StreamCursor, WithinMeansBehindOrAtInEveryPartition) {
  const StreamCursor at{{5, 0}, {7, 0}};
  EXPECT_TRUE(cursor_within(at, at));
  EXPECT_TRUE(cursor_within(StreamCursor{{4, 9}, {7, 0}}, at));
  EXPECT_FALSE(cursor_within(StreamCursor{{4, 9}, {7, 1}}, at)) << "ahead in one partition is news";
  EXPECT_FALSE(cursor_within(StreamCursor{{5, 0}}, at)) << "another partition count";
}

TEST(StreamCursor, AdvanceTakesTheLaterIdOfEachPartition) {
  StreamCursor c{{5, 0}, {9, 0}, {1, 0}};
  advance_cursor(c, StreamCursor{{6, 0}, {8, 0}, {1, 0}});
  EXPECT_EQ(c, (StreamCursor{{6, 0}, {9, 0}, {1, 0}}));
  advance_cursor(c, StreamCursor{{1, 0}});
  EXPECT_EQ(c, (StreamCursor{{1, 0}})) << "another partition count is taken whole";
}

}  // namespace
}  // namespace tradpal
