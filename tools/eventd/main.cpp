// tools/eventd/main.cpp
//
// eventd: the TradPal event service. Exit status 0 after a clean shutdown
// (SIGTERM/SIGINT), 2 for bad configuration, 1 when it cannot start.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "tools/eventd/config.h"
#include "tools/eventd/log.h"
#include "tools/eventd/service.h"

int main(int argc, char** argv) {
  using namespace tradpal::eventd;
  Config config;
  try {
    config = parse_config(argc, argv, [](const char* name) { return std::getenv(name); });
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "eventd: configuration error: %s\n", e.what());
    return 2;
  }
  if (config.help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  route_adapter_logs();
  try {
    Service service(std::move(config));
    return service.run();
  } catch (const ConfigError& e) {
    // Found while building (a schema that cannot be loaded): still the configuration.
    std::fprintf(stderr, "eventd: configuration error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eventd: cannot start: %s\n", e.what());
    return 1;
  }
}
