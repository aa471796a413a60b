#include "processing/aggregation/market_tick.h"

#include <cmath>

namespace tradpal::processing {

std::optional<MarketTick> MarketTickReader::read(std::string_view data, TimestampNs event_time, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<MarketTick> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  // Copied once into a buffer with simdjson's padding: the symbol then
  // views this buffer, which stays put until the next read.
  padded_.assign(data);
  padded_.append(simdjson::SIMDJSON_PADDING, '\0');
  simdjson::ondemand::document doc;
  if (parser_.iterate(padded_.data(), data.size(), padded_.size()).get(doc) != simdjson::SUCCESS) {
    return fail("data is not JSON");
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return fail("data is not an object");
  MarketTick t;
  t.time = event_time;
  bool have_symbol = false;
  bool have_price = false;
  // One pass over the fields in whatever order they come.
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return fail("data is not valid JSON");
    auto value = field.value();
    if (key == "symbol") {
      if (value.get_string().get(t.symbol) != simdjson::SUCCESS) return fail("data.symbol is not a string");
      have_symbol = true;
    } else if (key == "price") {
      if (value.get_double().get(t.price) != simdjson::SUCCESS || !std::isfinite(t.price)) {
        return fail("data.price is not a number");
      }
      have_price = true;
    } else if (key == "volume") {
      double v = 0;
      if (value.get_double().get(v) != simdjson::SUCCESS || !std::isfinite(v)) return fail("data.volume is not a number");
      t.volume = v;
    } else if (key == "timestamp") {
      std::string_view text;
      if (value.get_string().get(text) == simdjson::SUCCESS) {
        if (const auto ts = parse_iso_timestamp(text)) t.time = *ts;
      }
    }
  }
  if (!have_symbol) return fail("data.symbol is missing");
  if (!have_price) return fail("data.price is missing");
  return t;
}

}  // namespace tradpal::processing
