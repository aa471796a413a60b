#include "adapters/redis/log.h"

#include <cstdio>
#include <string>

namespace tradpal::redis {
namespace {

LogSink& sink() {
  static LogSink s;
  return s;
}

}  // namespace

void set_log_sink(LogSink s) { sink() = std::move(s); }

void log(LogLevel level, std::string_view message) noexcept {
  try {
    if (const LogSink& s = sink()) {
      s(level, message);
      return;
    }
    static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
    if (level == LogLevel::debug) return;
    std::fprintf(stderr, "tradpal-redis %s: %.*s\n", kNames[static_cast<int>(level)],
                 static_cast<int>(message.size()), message.data());
  } catch (...) {
    // A logger that throws must not take the I/O thread down with it.
  }
}

}  // namespace tradpal::redis
