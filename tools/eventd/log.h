// tools/eventd/log.h
//
// One line per event of note (start, Redis connect and disconnect, breaker
// changes, shutdown) on stderr, prefixed with the UTC time; never one per
// request. Any thread; lines are written whole with a single write().
#pragma once

#include <string_view>

namespace tradpal::eventd {

void log_line(std::string_view message) noexcept;

// Routes the Redis adapter's log through log_line (call once at start).
void route_adapter_logs();

}  // namespace tradpal::eventd
