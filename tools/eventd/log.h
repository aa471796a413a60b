// tools/eventd/log.h
//
// One line per event of note (start, Redis connect and disconnect, breaker
// changes, shutdown) on stderr, prefixed with the UTC time; never one per
// request. Any thread; lines are written whole with a single write().
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace tradpal::eventd {

void log_line(std::string_view message) noexcept;

// Runs `work` from a libuv callback, which nothing may unwind into: an
// exception becomes the line "<what> failed: <reason>".
template <typename Work>
void run_logged(std::string_view what, Work&& work) noexcept {
  try {
    work();
  } catch (const std::exception& e) {
    try {
      log_line(std::string(what) + " failed: " + e.what());
    } catch (...) {
      log_line(what);
    }
  } catch (...) {
    try {
      log_line(std::string(what) + " failed");
    } catch (...) {
      log_line(what);
    }
  }
}

// Routes the Redis adapter's log through log_line (call once at start).
void route_adapter_logs();

}  // namespace tradpal::eventd
