#include "tools/eventd/log.h"

#include <unistd.h>

#include <string>

#include "adapters/redis/log.h"
#include "engine/timestamp.h"

namespace tradpal::eventd {

void log_line(std::string_view message) noexcept {
  try {
    std::string line(kIsoTimestampSize, ' ');
    format_iso_timestamp(now_ns(), line.data());
    line += "Z eventd: ";
    line += message;
    line += '\n';
    // One write() per line, so lines from different threads never interleave.
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  } catch (...) {
    // Logging must never take the service down.
  }
}

void route_adapter_logs() {
  redis::set_log_sink([](redis::LogLevel level, std::string_view message) {
    // Connects are logged by RedisMonitor in the service's own words.
    if (level == redis::LogLevel::debug || level == redis::LogLevel::info) return;
    log_line(std::string("redis: ") + std::string(message));
  });
}

}  // namespace tradpal::eventd
