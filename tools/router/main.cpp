// tradpal-router: routing rules as a stream processor; see
// tools/router/route_processor.h and `tradpal-router --help`.
#include <prometheus/exposer.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#include "processing/routing/rule_error.h"
#include "tools/common/log_line.h"
#include "tools/router/config.h"
#include "tools/router/route_processor.h"
#include "tools/router/router_metrics.h"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_stop(int) { g_stop.store(true); }
void on_hangup(int) { g_reload.store(true); }

}  // namespace

int main(int argc, char** argv) {
  using namespace tradpal::router;
  RouterConfig config;
  try {
    config = parse_router_config(argc, argv, [](const char* name) { return std::getenv(name); });
  } catch (const RouterConfigError& e) {
    std::fprintf(stderr, "tradpal-router: %s\n", e.what());
    return 2;
  }
  if (config.help) {
    std::fputs(router_usage().c_str(), stdout);
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = on_hangup;
  sigaction(SIGHUP, &sa, nullptr);
  RouterMetrics metrics;
  try {
    RouteProcessor processor(config, metrics);
    std::unique_ptr<prometheus::Exposer> exposer;
    if (!config.metrics_listen.empty()) {
      try {
        exposer = std::make_unique<prometheus::Exposer>(config.metrics_listen);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tradpal-router: --metrics %s: cannot listen: %s\n", config.metrics_listen.c_str(),
                     e.what());
        return 2;
      }
      exposer->RegisterCollectable(metrics.registry());
    }
    tradpal::tools::log_line("tradpal-router",
                             "routing " + config.source + " (" + std::to_string(config.partitions) +
                                 " partitions) as " + config.group + "/" + config.consumer + " with the rules of " +
                                 config.rules_file +
                                 (exposer ? "; metrics at http://" + config.metrics_listen + "/metrics" : ""));
    processor.run(g_stop, g_reload);
    return 0;
  } catch (const tradpal::routing::RuleError& e) {
    std::fprintf(stderr, "tradpal-router: %s\n", e.what());
    return 2;
  } catch (const RouterConfigError& e) {
    std::fprintf(stderr, "tradpal-router: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tradpal-router: %s\n", e.what());
    return 1;
  }
}
