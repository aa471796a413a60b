#include "tools/eventd/service.h"

#include <algorithm>
#include <csignal>
#include <stdexcept>
#include <string>

#include "tools/eventd/log.h"
#include "tools/eventd/routes.h"

namespace tradpal::eventd {
namespace {

constexpr std::size_t kReaderThreads = 2;

BusOptions bus_options(const Config& c) {
  BusOptions o;
  o.ring.capacity = c.ring_bytes;
  // Up to the HTTP body limit (1 MiB), but small enough that frames fit
  // the ring eight times over.
  o.ring.max_event_size = std::min<std::size_t>(std::size_t{1} << 20, c.ring_bytes / 8);
  // The persisters (one per partition); stream clients read the Redis
  // stream, not this ring.
  o.ring.max_subscribers = c.partitions + 3;
  // Every body was parsed whole before it is published (body_validation),
  // and replays come decoded from Redis: a second full parse would buy nothing.
  o.json_check = JsonCheck::shape;
  return o;
}

// /events/replay republishes here, for the stream clients; the persister
// never sees replays, and they never compete with publishes for ring space.
BusOptions replay_bus_options(const Config& c) {
  BusOptions o = bus_options(c);
  o.ring.capacity = std::size_t{8} << 20;
  o.ring.max_event_size = std::min<std::size_t>(std::size_t{1} << 20, o.ring.capacity / 8);
  return o;
}

}  // namespace

Service::Service(Config config)
    : config_(std::move(config)), bus_(bus_options(config_)), replay_bus_(replay_bus_options(config_)) {
  // First, before any thread or handle exists: a schema that cannot be
  // loaded stops eventd as a configuration error.
  if (!config_.schemas_dir.empty()) {
    schemas_ = std::make_unique<SchemaCheck>(config_.schemas_dir);
    log_line("validating payloads against " + std::to_string(schemas_->size()) + " schemas from " +
             config_.schemas_dir);
  }
  if (const int rc = uv_loop_init(&loop_); rc != 0) {
    throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
  }
  auto post = [this](http::Task t) { return this->post(std::move(t)); };
  partitioning_ = std::make_shared<const redis::Partitioning>(
      config_.stream, redis::PartitionOptions{.count = config_.partitions, .key = config_.partition_key});

  redis::PersisterOptions po;
  po.connection.url = config_.redis_url;
  po.stream = config_.stream;
  po.max_batch = config_.batch_size;
  po.max_buffered_bytes = config_.persist_buffer_bytes;
  po.max_in_flight = std::max<std::size_t>(2048, 2 * config_.batch_size);
  po.listener = &inbox_;
  po.replicas = config_.replicas;
  po.replica_timeout = config_.replica_timeout;
  // Every publish comes from this loop (PendingPublishes), which wakes the
  // persister itself: no watcher thread, no futex wake per POST.
  po.watch_ring = false;
  // The sinks are set before the persister exists, so nothing it pushes is lost.
  inbox_.connect(post, {.acknowledged = [this](auto burst) { publishes_->on_acknowledged(burst); },
                        .abandoned = [this](auto tokens) { publishes_->on_abandoned(tokens); },
                        .refused = [this](auto tokens) { publishes_->on_refused(tokens); },
                        .state_changed = [this] { redis_state_changed(); }});
  persister_ = std::make_unique<redis::PartitionedPersister>(bus_, io_, partitioning_, po);
  monitor_ = std::make_unique<RedisMonitor>(*persister_, bus_, config_.redis_url.redacted());
  publishes_ = std::make_unique<PendingPublishes>(&loop_, bus_, *monitor_, counters_, metrics_.publish_latency(),
                                                  metrics_.batch_size(), config_.publish_timeout,
                                                  [this] { persister_->notify(); });
  redis::EventStoreOptions so;
  so.url = config_.redis_url;
  so.stream = config_.stream;
  so.timeout = std::chrono::milliseconds(1000);
  so.max_scan = config_.read_max_scan;
  if (partitioning_->count() > 1) so.partitioning = partitioning_;
  readers_ = std::make_unique<RedisReaders>(so, kReaderThreads, post);
  hub_ = std::make_unique<SseHub>(&loop_, replay_bus_, *readers_, counters_, partitioning_->count(), config_.heartbeat,
                                  config_.stream_stall_timeout, post);

  // Every entry of the stream, whoever wrote it, from where it ends now.
  redis::StreamTailOptions to;
  to.connection.url = config_.redis_url;
  to.stream = config_.stream;
  to.start = redis::TailStart::latest();
  tail_ = std::make_unique<redis::PartitionedStreamTail>(io_, partitioning_, to);
  tail_->on_entry([this](std::size_t partition, const redis::TailEntry& e) { hub_->on_stream_entry(partition, e); });
  tail_->on_batch([this](std::size_t) { hub_->on_stream_batch(); });
  // With no stream client connected nobody needs the stream read: every
  // client fixes its own start and reads its gap from Redis, so the tail
  // can rest, and restart from the stream's end when one comes.
  tail_->set_interest([this] { return hub_->has_clients(); });
  hub_->set_tail_position([this] { return tail_->position(); });
  hub_->set_tail_restart([this](const std::vector<StreamId>& after) {
    tail_->restart_after(redis::PartitionedStreamTail::Cursor(after.begin(), after.end()));
  });

  http::ServerConfig sc;
  sc.host = config_.host;
  sc.port = config_.port;
  sc.log = [](std::string_view line) { log_line(line); };
  sc.max_connections = config_.max_connections;
  sc.max_body_bytes = config_.max_body_bytes;
  sc.max_header_bytes = config_.max_header_bytes;
  sc.max_unsent_bytes = config_.max_unsent_bytes;
  sc.max_stream_unsent_bytes = config_.stream_unsent_bytes;
  sc.idle_timeout = config_.idle_timeout;
  sc.request_timeout = config_.request_timeout;
  server_ = std::make_unique<http::Server>(&loop_, sc,
                                           Routes::build({.config = config_,
                                                          .replay_bus = replay_bus_,
                                                          .counters = counters_,
                                                          .metrics = metrics_,
                                                          .monitor = *monitor_,
                                                          .publishes = *publishes_,
                                                          .readers = *readers_,
                                                          .hub = *hub_,
                                                          .tail = *tail_,
                                                          .schemas = schemas_.get(),
                                                          .server = server_}));
  server_->listen();
  memory_release_ = std::make_unique<MemoryRelease>(&loop_, [this] {
    const http::ServerStats& st = server_->stats();
    return st.connections_accepted + st.connections_rejected - st.connections_open;
  });
  tail_->start();
  // Whatever the persister pushed before the server could carry it.
  inbox_.drain();
  monitor_->refresh();

  for (uv_signal_t* sig : {&sigterm_, &sigint_}) {
    uv_signal_init(&loop_, sig);
    sig->data = this;
  }
  uv_signal_start(&sigterm_, &Service::on_signal, SIGTERM);
  uv_signal_start(&sigint_, &Service::on_signal, SIGINT);
  log_line("started: stream '" + config_.stream + "'" +
           (partitioning_->count() > 1 ? " in " + std::to_string(partitioning_->count()) + " partitions" : "") + " at " + config_.redis_url.redacted() + ", ring of " +
           std::to_string(config_.ring_bytes) + " bytes, batches of up to " + std::to_string(config_.batch_size));
}

Service::~Service() {
  // run() has closed every handle; what is left are objects whose threads
  // must stop before the loop goes away.
  if (tail_) tail_->stop();
  if (persister_) persister_->stop();
  if (readers_) readers_->stop();
  hub_.reset();
  publishes_.reset();
  server_.reset();
  uv_loop_close(&loop_);
}

bool Service::post(http::Task task) { return server_ && server_->post(std::move(task)); }

int Service::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_status_;
}

void Service::redis_state_changed() {
  monitor_->refresh();
  // The consumer group the Python readers use, created as they would
  // (XGROUP CREATE ... $ MKSTREAM) once Redis is reachable.
  if (monitor_->snapshot().connected && !group_ready_ && !group_in_flight_ && !shutting_down_) {
    group_in_flight_ = true;
    const std::string group = config_.group;
    readers_->run<bool>(
        [group](Reader& reader) {
          reader.store().ensure_group(group);
          return true;
        },
        [this, group](Outcome<bool> o) {
          group_in_flight_ = false;
          if (o.value) {
            group_ready_ = true;
            log_line("consumer group '" + group + "' ready");
          } else {
            log_line("cannot create consumer group '" + group + "': " + o.error);
          }
        });
  }
}

void Service::on_signal(uv_signal_t* handle, int signum) noexcept {
  auto* self = static_cast<Service*>(handle->data);
  try {
    self->begin_shutdown(signum);
  } catch (...) {
    self->exit_status_ = 1;
    uv_stop(handle->loop);
  }
}

void Service::begin_shutdown(int signum) {
  if (shutting_down_) return;
  shutting_down_ = true;
  log_line(std::string("received ") + (signum == SIGINT ? "SIGINT" : "SIGTERM") +
           ": no new connections, finishing in-flight requests");
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  if (memory_release_) memory_release_->close();
  // Acknowledgements keep arriving through the inbox while the server
  // drains; the deadline timer still answers what Redis does not.
  // Every publish taken is answered before its connection is cut: 200 once
  // Redis has it, 503 at its deadline. So the drain lasts at least that.
  const auto grace = std::max(config_.shutdown_grace, config_.publish_timeout + std::chrono::milliseconds(250));
  server_->shutdown(grace, [this] {
    try {
      finish_shutdown();
    } catch (const std::exception& e) {
      exit_status_ = 1;
      log_line(std::string("shutdown failed: ") + e.what());
    }
  });
}

void Service::finish_shutdown() {
  publishes_->close();
  hub_->close();
  tail_->stop();
  // Everything acknowledged was answered; what the ring still holds (a
  // publish whose client left) is flushed before we go.
  const bool idle = persister_->wait_idle(config_.shutdown_grace);
  const std::uint64_t persisted = persister_->persisted();
  persister_->stop();
  readers_->stop();
  log_line("persister " + std::string(idle ? "flushed" : "NOT flushed in time") + " (" + std::to_string(persisted) +
           " events persisted); exiting");
  if (!idle) exit_status_ = 1;
}

}  // namespace tradpal::eventd
