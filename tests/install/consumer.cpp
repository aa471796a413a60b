// A trading process outside the build tree: compiled against the installed
// headers and `pkg-config tradpal-events` only, and without -march=native,
// whatever the library was built with.
#include <engine/bus.h>
#include <engine/json.h>

#include <cstdio>
#include <string_view>

int main() {
  tradpal::Bus bus;
  auto sub = bus.subscribe({.types = {tradpal::EventType::trading_signal}});
  if (bus.publish_trading_signal(R"({"symbol": "BTC/USDT", "action": "BUY"})") != tradpal::PublishStatus::ok) return 1;
  int seen = 0;
  bool parsed = false;
  simdjson::ondemand::parser parser;
  sub.poll([&](const tradpal::EventView& e, bool) {
    if (e.source() == "trading_bot") ++seen;
    // On-Demand in this program's own kernel, over the ring's bytes.
    auto doc = tradpal::parse_data(parser, e);
    std::string_view symbol;
    parsed = !doc["symbol"].get_string().get(symbol) && symbol == "BTC/USDT";
  });
  // The library's own validation, in the kernel it was built for: links and
  // agrees whatever this program was compiled for.
  const bool validates = tradpal::is_json_object(R"({"a": [1, 2.5, "x"]})") && !tradpal::is_json_object(R"({"a": })");
  std::printf("installed library delivered %d event(s); JSON kernel: library %.*s, this program %.*s\n", seen,
              static_cast<int>(tradpal::json_kernel().size()), tradpal::json_kernel().data(),
              static_cast<int>(tradpal::caller_json_kernel().size()), tradpal::caller_json_kernel().data());
  return seen == 1 && parsed && validates ? 0 : 1;
}
