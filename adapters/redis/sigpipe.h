// adapters/redis/sigpipe.h
//
// A Redis server that dies or resets the connection while we write to it
// must cost an EPIPE on that write, which the connection handles (it
// reconnects), not the whole process: hiredis writes with write(2), and the
// default SIGPIPE disposition would end a trading process on a `kill -9` of
// Redis. Every connection calls ignore_sigpipe() when it is created; a
// disposition the program chose itself is left alone. Any thread.
#pragma once

#include <csignal>

namespace tradpal::redis {

inline void ignore_sigpipe() noexcept {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace tradpal::redis
