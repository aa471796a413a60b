// adapters/redis/log.h
//
// Log: where the Redis adapter reports what it cannot return to a caller
// (connection lost, entries skipped, exceptions caught at a callback edge).
// Any thread may log; the sink is swapped with set_log_sink() before the
// adapter starts (the default writes one line to stderr). Messages never
// contain a password: URLs are logged only through RedisUrl::redacted().
#pragma once

#include <functional>
#include <string_view>

namespace tradpal::redis {

enum class LogLevel { debug, info, warning, error };

using LogSink = std::function<void(LogLevel, std::string_view message)>;

// Not thread-safe against concurrent log() calls: set it at start-up.
void set_log_sink(LogSink sink);
void log(LogLevel level, std::string_view message) noexcept;

}  // namespace tradpal::redis
