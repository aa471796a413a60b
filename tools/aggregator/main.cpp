// tradpal-aggregator: OHLCV bars from a TradPal stream; see
// tools/aggregator/bar_processor.h and `tradpal-aggregator --help`.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "tools/aggregator/bar_processor.h"
#include "tools/aggregator/config.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  using namespace tradpal::aggregator;
  AggregatorConfig config;
  try {
    config = parse_aggregator_config(argc, argv, [](const char* name) { return std::getenv(name); });
  } catch (const AggregatorConfigError& e) {
    std::fprintf(stderr, "tradpal-aggregator: %s\n", e.what());
    return 2;
  }
  if (config.help) {
    std::fputs(aggregator_usage().c_str(), stdout);
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  try {
    BarProcessor processor(config);
    processor.run(g_stop);
    return 0;
  } catch (const AggregatorConfigError& e) {
    std::fprintf(stderr, "tradpal-aggregator: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tradpal-aggregator: %s\n", e.what());
    return 1;
  }
}
