// tools/eventd/service.h
//
// Service: eventd put together. One libuv loop (the caller's thread) runs the
// HTTP server, the publish bridge, the stream hub and a tick timer; the
// Redis adapter's persister runs on its own I/O thread and hands message ids
// back through Server::post; blocking Redis reads run on RedisReaders.
//
//   HTTP ─► Routes ─► Publisher ─► Bus ring ─► Persister (I/O thread) ─► Redis
//                         ▲                         │ message ids
//                         └──── Server::post ◄──────┘
//   SseHub: lossy bus subscribers, polled on the loop.
//
// run() returns after SIGTERM or SIGINT: the server stops accepting and lets
// in-flight requests finish (their acknowledgements still arrive), then the
// persister is flushed and stopped. Construct and run on one thread.
#pragma once

#include <uv.h>

#include <memory>

#include "adapters/http/server.h"
#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/persister.h"
#include "engine/bus.h"
#include "tools/eventd/config.h"
#include "tools/eventd/metrics.h"
#include "tools/eventd/publisher.h"
#include "tools/eventd/redis_monitor.h"
#include "tools/eventd/redis_readers.h"
#include "tools/eventd/service_counters.h"
#include "tools/eventd/sse_hub.h"

namespace tradpal::eventd {

class Service {
 public:
  // Builds every part and listens; throws std::runtime_error (bind errors
  // name the address) or ConfigError.
  explicit Service(Config config);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Runs until a shutdown signal has been handled; returns the exit status.
  int run();

 private:
  friend class Routes;

  static void on_tick(uv_timer_t* timer) noexcept;
  static void on_signal(uv_signal_t* handle, int signum) noexcept;
  void tick();
  void begin_shutdown(int signum);
  void finish_shutdown();
  bool post(http::Task task);

  Config config_;
  uv_loop_t loop_{};
  Bus bus_;
  redis::DurabilityTracker tracker_;
  ServiceCounters counters_;
  Metrics metrics_;
  redis::IoThread io_;
  std::unique_ptr<redis::Persister> persister_;
  std::unique_ptr<RedisMonitor> monitor_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<RedisReaders> readers_;
  std::unique_ptr<SseHub> hub_;
  std::unique_ptr<http::Server> server_;

  uv_timer_t tick_{};
  uv_signal_t sigterm_{};
  uv_signal_t sigint_{};
  bool shutting_down_ = false;
  bool group_ready_ = false;
  bool group_in_flight_ = false;
  int exit_status_ = 0;
};

}  // namespace tradpal::eventd
