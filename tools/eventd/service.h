// tools/eventd/service.h
//
// Service: eventd put together. One libuv loop (the caller's thread) runs the
// HTTP server, the pending publishes and the stream hub; the Redis adapter's
// persister and stream tail run on one I/O thread, each on its own
// connection, and push what happens to the loop; blocking Redis reads run
// on RedisReaders.
//
//   HTTP ─► Routes ─► PendingPublishes ─► Bus ring ─► Persister ─XADD─► Redis stream
//                          ▲                             │ acknowledged bursts,
//                          └──── PersisterInbox ◄────────┘ state changes
//   Redis stream ─XREAD BLOCK─► StreamTail ─► SseHub ─► GET /events/stream
//   (every writer's events)                    ▲
//   /events/replay ─► replay bus ──────────────┘
//
// With partitions (Config::partitions > 1, for a Redis Cluster) the stream
// is N partition streams: a Persister and a StreamTail per partition, each
// on the node that holds its stream (PartitionedPersister,
// PartitionedStreamTail), reads merged by EventStore, and stream clients
// positioned by a cursor of one id per partition (SseHub). With one
// partition every part is exactly the single-stream one.
//
// No periodic timer drives publish answers, stream delivery or health:
// timers are the publish deadlines, the stream heartbeats and the Redis
// adapter's own timeouts and reconnects.
//
// run() returns after SIGTERM or SIGINT: the server stops accepting and lets
// in-flight requests finish (their acknowledgements still arrive), then the
// persister is flushed and stopped. Construct and run on one thread.
#pragma once

#include <uv.h>

#include <memory>

#include "adapters/http/server.h"
#include "adapters/redis/io_thread.h"
#include "adapters/redis/partitioned_persister.h"
#include "adapters/redis/partitioned_stream_tail.h"
#include "engine/bus.h"
#include "tools/eventd/config.h"
#include "tools/eventd/memory_release.h"
#include "tools/eventd/metrics.h"
#include "tools/eventd/pending_publishes.h"
#include "tools/eventd/persister_inbox.h"
#include "tools/eventd/redis_monitor.h"
#include "tools/eventd/redis_readers.h"
#include "tools/eventd/service_counters.h"
#include "tools/eventd/schema_check.h"
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
  static void on_signal(uv_signal_t* handle, int signum) noexcept;
  void redis_state_changed();
  void begin_shutdown(int signum);
  void finish_shutdown();
  bool post(http::Task task);

  Config config_;
  uv_loop_t loop_{};
  Bus bus_;
  Bus replay_bus_;
  ServiceCounters counters_;
  Metrics metrics_;
  PersisterInbox inbox_;
  redis::IoThread io_;
  std::shared_ptr<const redis::Partitioning> partitioning_;
  std::unique_ptr<redis::PartitionedPersister> persister_;
  std::unique_ptr<RedisMonitor> monitor_;
  std::unique_ptr<PendingPublishes> publishes_;
  std::unique_ptr<RedisReaders> readers_;
  std::unique_ptr<SseHub> hub_;
  std::unique_ptr<SchemaCheck> schemas_;
  std::unique_ptr<redis::PartitionedStreamTail> tail_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<MemoryRelease> memory_release_;

  uv_signal_t sigterm_{};
  uv_signal_t sigint_{};
  bool shutting_down_ = false;
  bool group_ready_ = false;
  bool group_in_flight_ = false;
  int exit_status_ = 0;
};

}  // namespace tradpal::eventd
