// BarAggregator against a reference computed here from the raw ticks (which
// ticks the watermark admits, then OHLCV per symbol, interval and window),
// across a checkpoint and restore at every kind of point, and MarketTick
// reading of real payloads.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "processing/aggregation/bar_aggregator.h"
#include "processing/aggregation/market_tick.h"

namespace tradpal::processing {
namespace {

using namespace std::chrono_literals;

struct OwnedTick {
  std::string symbol;
  double price;
  double volume;
  TimestampNs time;
  [[nodiscard]] MarketTick view() const { return {symbol, price, volume, time}; }
};

constexpr TimestampNs kSecond = 1'000'000'000;
constexpr TimestampNs kBase = 1'790'000'000 * kSecond;  // 2026

// Mostly in order, jittered within the lateness, and now and then a tick
// far too late; prices move by steps of a cent.
std::vector<OwnedTick> make_ticks(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<OwnedTick> out;
  TimestampNs now = kBase + 123'456'789;
  std::map<std::string, double> price;
  for (std::size_t i = 0; i < n; ++i) {
    now += static_cast<TimestampNs>(rng() % (40 * 1'000'000));  // up to 40 ms apart
    TimestampNs t = now - static_cast<TimestampNs>(rng() % (1500 * 1'000'000));  // within the 2 s lateness
    if (rng() % 50 == 0) t = now - 5 * kSecond;                                     // late
    const std::string symbol = "S" + std::to_string(rng() % 12);
    double& p = price.emplace(symbol, 100.0).first->second;
    p += (static_cast<double>(rng() % 21) - 10.0) / 100.0;
    out.push_back({symbol, p, static_cast<double>(rng() % 1000) / 10.0, t});
  }
  return out;
}

using Key = std::tuple<std::int64_t, TimestampNs, std::string>;  // interval, start, symbol

std::map<Key, Bar> reference(const std::vector<OwnedTick>& ticks, const BarOptions& o, std::uint64_t* late) {
  std::map<Key, Bar> bars;
  bool started = false;
  TimestampNs max_time = 0;
  const TimestampNs lateness = o.allowed_lateness.count();
  *late = 0;
  for (const OwnedTick& t : ticks) {
    const TimestampNs wm = (started ? max_time : t.time) - lateness;
    bool took = false;
    for (const auto iv_d : o.intervals) {
      const std::int64_t iv = iv_d.count();
      const TimestampNs start = (t.time / iv) * iv;  // times are positive here
      if (start + iv <= wm) continue;
      took = true;
      auto [it, fresh] = bars.try_emplace(Key{iv, start, t.symbol});
      Bar& b = it->second;
      if (fresh) {
        b = Bar{t.symbol, iv, start, t.price, t.price, t.price, t.price, t.volume, 1, t.price, t.time, t.time};
        continue;
      }
      if (t.time < b.first_time) {
        b.first_time = t.time;
        b.open = t.price;
      }
      if (t.time >= b.last_time) {
        b.last_time = t.time;
        b.close = t.price;
      }
      b.high = std::max(b.high, t.price);
      b.low = std::min(b.low, t.price);
      b.volume += t.volume;
      b.sum += t.price;
      ++b.trades;
    }
    if (!took) ++*late;
    if (!started || t.time > max_time) max_time = t.time;
    started = true;
  }
  return bars;
}

TEST(BarAggregator, BarsEqualTheReferenceFromTheRawTicks) {
  const BarOptions options{.intervals = {1s, 1min}, .allowed_lateness = 2s};
  const auto ticks = make_ticks(20000, 7);
  std::vector<Bar> emitted;
  BarAggregator agg(options, [&](const Bar& b) { emitted.push_back(b); });
  for (const auto& t : ticks) agg.add(t.view());
  const std::size_t before_flush = emitted.size();
  agg.flush();
  std::uint64_t late = 0;
  const auto want = reference(ticks, options, &late);
  EXPECT_GT(late, 5u) << "some ticks are too late for every window (most late ones still fit their minute)";
  EXPECT_EQ(agg.late_ticks(), late);
  std::map<Key, Bar> got;
  for (const Bar& b : emitted) {
    EXPECT_TRUE(got.emplace(Key{b.interval_ns, b.start, b.symbol}, b).second)
        << "bar emitted twice: " << b.symbol << " " << b.start;
  }
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, bar] : want) {
    const auto it = got.find(key);
    ASSERT_NE(it, got.end()) << bar.symbol << " " << bar.start;
    EXPECT_EQ(it->second.trades, bar.trades) << bar.symbol << " " << bar.start;
    EXPECT_EQ(it->second.open, bar.open);
    EXPECT_EQ(it->second.close, bar.close);
    EXPECT_EQ(it->second.high, bar.high);
    EXPECT_EQ(it->second.low, bar.low);
    EXPECT_DOUBLE_EQ(it->second.volume, bar.volume);
    EXPECT_DOUBLE_EQ(it->second.sum, bar.sum);
  }
  // Most bars closed by the watermark, not by the final flush; and within a
  // sweep they come by interval, start and symbol.
  EXPECT_GT(before_flush, want.size() * 9 / 10);
  EXPECT_EQ(agg.open_windows(), 0u);
}

TEST(BarAggregator, ACheckpointRestoredAnywhereEmitsExactlyWhatOneRunWould) {
  const BarOptions options{.intervals = {1s, 1min}, .allowed_lateness = 2s};
  const auto ticks = make_ticks(6000, 11);
  std::vector<Bar> whole;
  {
    BarAggregator agg(options, [&](const Bar& b) { whole.push_back(b); });
    for (const auto& t : ticks) agg.add(t.view());
    agg.flush();
  }
  for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{2999}, ticks.size() - 1, ticks.size()}) {
    std::vector<Bar> pieces;
    std::string saved;
    {
      BarAggregator first(options, [&](const Bar& b) { pieces.push_back(b); });
      for (std::size_t i = 0; i < cut; ++i) first.add(ticks[i].view());
      saved = first.checkpoint();
    }
    BarAggregator second(options, [&](const Bar& b) { pieces.push_back(b); });
    second.restore(saved);
    EXPECT_EQ(second.checkpoint(), saved) << "a checkpoint reads back as itself";
    for (std::size_t i = cut; i < ticks.size(); ++i) second.add(ticks[i].view());
    second.flush();
    EXPECT_EQ(pieces, whole) << "cut at " << cut;
    EXPECT_EQ(second.emitted(), whole.size());
  }
}

TEST(BarAggregator, ALateTickChangesNothingAndIsCounted) {
  std::vector<Bar> emitted;
  BarAggregator agg({.intervals = {1s}, .allowed_lateness = 500ms}, [&](const Bar& b) { emitted.push_back(b); });
  EXPECT_TRUE(agg.add({"BTC/USDT", 100, 1, kBase + 100'000'000}));
  EXPECT_TRUE(agg.add({"BTC/USDT", 101, 2, kBase + 900'000'000}));
  EXPECT_TRUE(agg.add({"ETH/USDT", 10, 1, kBase + kSecond + 600'000'000}));  // watermark passes kBase + 1 s
  ASSERT_EQ(emitted.size(), 1u);
  EXPECT_EQ(emitted[0], (Bar{"BTC/USDT", kSecond, kBase, 100, 101, 100, 101, 3, 2, 201, kBase + 100'000'000,
                             kBase + 900'000'000}));
  EXPECT_FALSE(agg.add({"BTC/USDT", 99, 1, kBase + 950'000'000})) << "its window has closed";
  EXPECT_EQ(agg.late_ticks(), 1u);
  EXPECT_TRUE(agg.add({"BTC/USDT", 99, 1, kBase + kSecond + 200'000'000})) << "within the lateness";
  agg.flush();
  EXPECT_EQ(emitted.size(), 3u);
  EXPECT_EQ(emitted[1].symbol, "BTC/USDT");
  EXPECT_EQ(emitted[2].symbol, "ETH/USDT");
}

TEST(BarAggregator, TheOpenIsTheEarliestTickByEventTimeNotByArrival) {
  std::vector<Bar> emitted;
  BarAggregator agg({.intervals = {1min}, .allowed_lateness = 10s}, [&](const Bar& b) { emitted.push_back(b); });
  agg.add({"X", 5, 0, kBase + 30 * kSecond});
  agg.add({"X", 4, 0, kBase + 10 * kSecond});  // earlier event, later arrival
  agg.add({"X", 6, 0, kBase + 30 * kSecond});  // same time as the first: the later arrival closes
  agg.flush();
  ASSERT_EQ(emitted.size(), 1u);
  EXPECT_EQ(emitted[0].open, 4);
  EXPECT_EQ(emitted[0].close, 6);
}

TEST(BarAggregator, BadSettingsAndBadCheckpointsAreRefused) {
  EXPECT_THROW(BarAggregator({.intervals = {}}, {}), std::invalid_argument);
  EXPECT_THROW(BarAggregator({.intervals = {0s}}, {}), std::invalid_argument);
  EXPECT_THROW(BarAggregator({.intervals = {1s, 1000ms}}, {}), std::invalid_argument);
  EXPECT_THROW(BarAggregator({.intervals = {1s}, .allowed_lateness = -1s}, {}), std::invalid_argument);
  BarAggregator agg({.intervals = {1s}}, {});
  EXPECT_THROW(agg.restore("not json"), std::invalid_argument);
  EXPECT_THROW(agg.restore("{}"), std::invalid_argument);
  BarAggregator other({.intervals = {1min}}, {});
  EXPECT_THROW(agg.restore(other.checkpoint()), std::invalid_argument) << "another interval";
}

TEST(MarketTick, ReadsTheRecordedPayloadsAndSaysWhatIsMissing) {
  MarketTickReader reader;
  const auto t = reader.read(
      R"({"symbol": "BTC/USDT", "price": 45000.0, "volume": 1234.56, "change_24h": 2.5, "timestamp": "2026-11-29T16:00:00.123456"})",
      7);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->symbol, "BTC/USDT");
  EXPECT_EQ(t->price, 45000.0);
  EXPECT_EQ(t->volume, 1234.56);
  EXPECT_EQ(t->time, *parse_iso_timestamp("2026-11-29T16:00:00.123456")) << "event time from the payload";
  const auto u = reader.read(R"({"symbol": "ETH/USDT", "price": 3000, "bid": 2999.5})", 42);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->time, 42) << "else the event's timestamp";
  EXPECT_EQ(u->volume, 0);
  std::string why;
  EXPECT_FALSE(reader.read(R"({"price": 1})", 0, &why));
  EXPECT_EQ(why, "data.symbol is missing");
  EXPECT_FALSE(reader.read(R"({"symbol": "A", "price": "1"})", 0, &why));
  EXPECT_EQ(why, "data.price is not a number");
  EXPECT_FALSE(reader.read(R"({"symbol": "A", "price": 1)", 0, &why));
}

}  // namespace
}  // namespace tradpal::processing
