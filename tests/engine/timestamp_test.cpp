#include "engine/timestamp.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/clock.h"

namespace tradpal {
namespace {

// now_ns() read between two clock_gettime calls lies between them, give or
// take the TSC extrapolation's error; across 1.3 s it re-anchors at least once.
TEST(Clock, FollowsClockRealtimeAcrossReanchors) {
  const std::string_view source = clock_source();
  EXPECT_TRUE(source == "tsc" || source == "clock_gettime") << source;
  constexpr TimestampNs kTolerance = 100'000;  // 100 µs: 1e-4 of the re-anchor period
  const TimestampNs start = detail::realtime_ns();
  TimestampNs last = 0;
  int reads = 0;
  while (detail::realtime_ns() - start < 1'300'000'000) {
    const TimestampNs before = detail::realtime_ns();
    const TimestampNs t = now_ns();
    const TimestampNs after = detail::realtime_ns();
    ASSERT_GE(t, before - kTolerance) << "read " << reads << " from " << source;
    ASSERT_LE(t, after + kTolerance) << "read " << reads << " from " << source;
    // Steps back only by the re-anchor's correction, never by more.
    ASSERT_GE(t, last - kTolerance) << "read " << reads;
    last = t;
    ++reads;
    if (reads % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  EXPECT_GT(reads, 1000);
}

constexpr TimestampNs kBase = 1795969628LL * 1'000'000'000;  // 2026-11-29T16:27:08Z

TEST(Timestamp, RendersNaiveUtcWithSixFractionDigits) {
  EXPECT_EQ(format_iso_timestamp(kBase + 192'679'000), "2026-11-29T16:27:08.192679");
  EXPECT_EQ(format_iso_timestamp(kBase), "2026-11-29T16:27:08.000000");
  EXPECT_EQ(format_iso_timestamp(0), "1970-01-01T00:00:00.000000");
  EXPECT_EQ(format_iso_timestamp(-1'000), "1969-12-31T23:59:59.999999");
  // Leap day and the end of a year.
  EXPECT_EQ(format_iso_timestamp(days_from_civil(2028, 2, 29) * 86400LL * 1'000'000'000),
            "2028-02-29T00:00:00.000000");
  EXPECT_EQ(format_iso_timestamp(days_from_civil(2027, 1, 1) * 86400LL * 1'000'000'000 - 1'000),
            "2026-12-31T23:59:59.999999");
}

TEST(Timestamp, ParsesEveryFormTheContractAccepts) {
  const TimestampNs whole = 1795968000LL * 1'000'000'000;  // 2026-11-29T16:00:00Z
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T16:00:00"), whole);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T16:00:00.5+00:00"), whole + 500'000'000);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T16:00:00.250000Z"), whole + 250'000'000);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29 16:00:00.123456"), whole + 123'456'000);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T16:00:00.123456789"), whole + 123'456'789);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T16:00"), whole);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29"), whole - 16 * 3600LL * 1'000'000'000);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T18:00:00+02:00"), whole);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T11:30:00-04:30"), whole);
  EXPECT_EQ(parse_iso_timestamp("2026-11-29T18:00:00+0200"), whole);
}

TEST(Timestamp, RoundTripsMicroseconds) {
  for (TimestampNs ts = kBase; ts < kBase + 5'000'000'000; ts += 123'457'000) {
    const auto back = parse_iso_timestamp(format_iso_timestamp(ts));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, ts);
  }
}

TEST(Timestamp, RejectsMalformedOrImpossibleTimes) {
  for (const char* bad : {"", "2026", "2026-11-29T", "2026-13-01T00:00:00", "2026-02-29T00:00:00",
                          "2026-11-31", "2026-11-29T24:00:00", "2026-11-29T16:60:00", "2026-11-29T16:00:61",
                          "2026-11-29T16:00:00.", "2026-11-29T16:00:00Zjunk", "2026-11-29T16:00:00+25:00",
                          "29-11-2026", "2026-11-29X16:00:00", "1000-01-01", "9999-12-31T00:00:00"}) {
    EXPECT_FALSE(parse_iso_timestamp(bad)) << bad;
  }
}

TEST(Timestamp, NowIsRecent) {
  const TimestampNs now = now_ns();
  EXPECT_GT(now, kBase - 365LL * 86400 * 1'000'000'000);
}

}  // namespace
}  // namespace tradpal
