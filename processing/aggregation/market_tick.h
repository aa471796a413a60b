// processing/aggregation/market_tick.h
//
// MarketTick: what a market-data event says about one trade or quote, read
// from its data JSON in one On-Demand pass (simdjson), with no allocation
// once the reader has seen data as large. The aggregators take ticks, so
// they neither know nor care whether an event came off the bus or a
// Redis stream.
//
//   symbol  data.symbol (a string)
//   price   data.price (a number)
//   volume  data.volume (a number; 0 when absent)
//   time    data.timestamp (ISO 8601, naive = UTC) when present, else the
//           event's own timestamp: event time, not arrival time.
//
// read() answers nullopt (and says why in *why when given) for data
// without a string symbol or a finite numeric price. simdjson needs padding
// after the text, which neither bus frames nor hiredis replies promise, so
// the reader copies the data into its own padded buffer first.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "engine/timestamp.h"

namespace tradpal::processing {

struct MarketTick {
  std::string_view symbol;  // valid until the reader's next read()
  double price = 0;
  double volume = 0;
  TimestampNs time = 0;
};

// Reads ticks; one per thread (it owns a parser and a padded buffer).
class MarketTickReader {
 public:
  // `data`: the event's data JSON; `event_time`: its timestamp.
  [[nodiscard]] std::optional<MarketTick> read(std::string_view data, TimestampNs event_time,
                                               std::string* why = nullptr);

 private:
  simdjson::ondemand::parser parser_;
  std::string padded_;
};

}  // namespace tradpal::processing
