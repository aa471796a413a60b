// A trading process outside the build tree: compiled against the installed
// headers and pkg-config file only.
#include <engine/bus.h>

#include <cstdio>

int main() {
  tradpal::Bus bus;
  auto sub = bus.subscribe({.types = {tradpal::EventType::trading_signal}});
  if (bus.publish_trading_signal(R"({"symbol": "BTC/USDT", "action": "BUY"})") != tradpal::PublishStatus::ok) return 1;
  int seen = 0;
  sub.poll([&](const tradpal::EventView& e, bool) {
    if (e.source() == "trading_bot") ++seen;
  });
  std::printf("installed library delivered %d event(s)\n", seen);
  return seen == 1 ? 0 : 1;
}
