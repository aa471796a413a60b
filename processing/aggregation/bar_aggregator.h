// processing/aggregation/bar_aggregator.h
//
// BarAggregator: OHLCV bars per symbol per interval (e.g. 1 s and 1 min) from
// market ticks, by event time, with an allowed lateness.
//
//   window     [start, start + interval), start = floor(time / interval) * interval
//   watermark  the latest event time seen, minus the allowed lateness
//   a window   closes when the watermark reaches its end: its bar is emitted
//              once, and a tick for it arriving later is counted as late and
//              dropped (late_ticks())
//   a bar      open = price of the tick with the earliest event time (the
//              first to arrive among equals), close = price of the latest,
//              high, low, volume (sum), trades (tick count), sum (of prices)
//
// The same aggregator gives generic count / sum / min / max per key and
// window: feed it ticks whose symbol is the key and whose price is the
// value; a bar's trades, sum, low and high are then count, sum, min, max.
//
// The watermark is global (every symbol's time moves it), so a symbol that
// goes quiet still gets its bars closed. Bars closed by one tick are emitted
// in (interval, start, symbol) order, so two aggregators fed the same ticks
// emit the same bars in the same order.
//
// checkpoint() writes the whole state (open windows, watermark, counters)
// as JSON; restore() reads it back: an aggregator restored from a checkpoint
// and fed the ticks after it emits exactly what the original would have.
// The processor stores it in Redis with the bars it emitted, atomically,
// which is what makes its bars exactly once across restarts.
//
// One thread; add() allocates only when it meets a new symbol or opens a
// window beyond the ones a symbol already holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/timestamp.h"
#include "processing/aggregation/market_tick.h"

namespace tradpal::processing {

struct Bar {
  std::string symbol;
  std::int64_t interval_ns = 0;
  TimestampNs start = 0;  // the window [start, start + interval_ns)
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  double volume = 0;
  std::uint64_t trades = 0;
  double sum = 0;  // of the prices (the value, for generic statistics)
  TimestampNs first_time = 0;  // event times of the open and close ticks
  TimestampNs last_time = 0;
  friend bool operator==(const Bar&, const Bar&) = default;
};

struct BarOptions {
  std::vector<std::chrono::nanoseconds> intervals{std::chrono::seconds(1), std::chrono::minutes(1)};
  std::chrono::nanoseconds allowed_lateness{std::chrono::seconds(2)};
};

class BarAggregator {
 public:
  using Emit = std::function<void(const Bar&)>;

  // Throws std::invalid_argument for no interval, a non-positive one, one
  // given twice, or a negative lateness.
  BarAggregator(BarOptions options, Emit emit);

  // Takes one tick: updates its windows, then emits every bar the new
  // watermark closes. Returns false when the tick was late (its window of
  // every interval had closed) and changed nothing.
  bool add(const MarketTick& tick);
  // Emits every open bar now (end of input; a processor that stops to
  // restart checkpoints instead).
  void flush();

  [[nodiscard]] TimestampNs watermark() const noexcept { return watermark_; }
  [[nodiscard]] std::uint64_t late_ticks() const noexcept { return late_; }
  [[nodiscard]] std::uint64_t emitted() const noexcept { return emitted_; }
  [[nodiscard]] std::size_t open_windows() const noexcept;
  [[nodiscard]] const BarOptions& options() const noexcept { return options_; }

  // The state as JSON, and back (throws std::invalid_argument on a text
  // that is not a checkpoint of the same intervals).
  [[nodiscard]] std::string checkpoint() const;
  void restore(std::string_view checkpoint);

 private:
  struct Window {
    TimestampNs start = 0;
    double open = 0, high = 0, low = 0, close = 0, volume = 0, sum = 0;
    std::uint64_t trades = 0;
    TimestampNs first_time = 0, last_time = 0;
  };
  struct Symbol {
    std::string name;
    std::vector<std::vector<Window>> open;  // per interval, by start
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  Symbol& symbol(std::string_view name);
  void close_up_to(TimestampNs watermark);
  void emit_closed(std::vector<Bar>& bars);
  void recompute_next_close() noexcept;

  BarOptions options_;
  std::vector<std::int64_t> interval_ns_;
  std::int64_t lateness_ns_ = 0;
  Emit emit_;
  std::unordered_map<std::string, std::unique_ptr<Symbol>, Hash, std::equal_to<>> symbols_;
  bool started_ = false;
  TimestampNs max_time_ = 0;
  TimestampNs watermark_ = 0;
  TimestampNs next_close_ = 0;  // the earliest window end among the open ones
  std::uint64_t late_ = 0;
  std::uint64_t emitted_ = 0;
  std::vector<Bar> closing_;  // reused by every sweep
};

}  // namespace tradpal::processing
