#include "adapters/redis/stream_tail.h"

#include <hiredis/hiredis.h>

#include <future>
#include <limits>

#include "adapters/redis/log.h"

namespace tradpal::redis {

std::optional<StreamId> TailStart::position() const noexcept {
  switch (kind_) {
    case Kind::latest:
      return std::nullopt;
    case Kind::after:
      return id_;
    case Kind::at_time: {
      // XREAD reads after an id: the last id of the millisecond before `t`.
      const std::uint64_t ms = time_ <= 0 ? 0 : static_cast<std::uint64_t>(time_ / 1'000'000);
      if (ms == 0) return StreamId{};
      return StreamId{ms - 1, std::numeric_limits<std::uint64_t>::max()};
    }
  }
  return std::nullopt;
}

StreamTail::StreamTail(IoThread& io, StreamTailOptions options) : io_(io), io_lease_(io), options_(std::move(options)) {
  if (options_.stream.empty()) throw ConfigError("stream tail: empty stream name");
  if (options_.count == 0) throw ConfigError("stream tail: count must be positive");
  if (options_.block.count() < 1) throw ConfigError("stream tail: block must be at least 1 ms");
  if (options_.connection.name == "redis") options_.connection.name = "tail of " + options_.stream;
  // On a cluster: straight to the node that holds the stream.
  if (options_.connection.route_key.empty()) options_.connection.route_key = options_.stream;
  count_text_ = std::to_string(options_.count);
  block_text_ = std::to_string(options_.block.count());
  cursor_ = options_.start.position();
  position_ = cursor_;
  io_.run_sync([this] {
    connection_ = std::make_unique<AsyncConnection>(io_.loop(), options_.connection,
                                                    static_cast<ConnectionOwner&>(*this));
    uv_timer_init(io_.loop(), &retry_);
    retry_.data = this;
  });
}

StreamTail::~StreamTail() { stop(); }

void StreamTail::start() {
  io_.run_sync([this] {
    if (started_ || stopping_) return;
    started_ = true;
    connection_->start();
  });
}

void StreamTail::stop() {
  std::promise<void> closed;
  auto done = closed.get_future();
  bool wait = false;
  io_.run_sync([&] {
    if (stopping_) return;
    stopping_ = true;
    wait = true;
    // Two closes to wait for: the retry timer and the connection.
    open_handles_ = 2;
    on_closed_ = [this, &closed] {
      if (--open_handles_ == 0) closed.set_value();
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&retry_),
             [](uv_handle_t* h) { static_cast<StreamTail*>(h->data)->on_closed_(); });
    connection_->close([this] { on_closed_(); });
  });
  if (wait) done.wait();
}

std::optional<StreamId> StreamTail::position() const {
  std::lock_guard lock(position_mutex_);
  return position_;
}

void StreamTail::publish_position() noexcept {
  std::lock_guard lock(position_mutex_);
  position_ = cursor_;
}

void StreamTail::retry_soon() noexcept {
  uv_timer_start(&retry_, &StreamTail::on_retry, static_cast<std::uint64_t>(options_.back_pressure_retry.count()), 0);
}

// ---- loop thread ------------------------------------------------------------

void StreamTail::on_ready() noexcept {
  if (stopping_) return;
  reading_ = false;
  uv_timer_stop(&retry_);
  read();
}

void StreamTail::resolve_latest() noexcept {
  // "$" made concrete once: after a reconnect we must go on from here, not
  // from whatever the stream's end is by then.
  const char* argv[] = {"XREVRANGE", options_.stream.c_str(), "+", "-", "COUNT", "1"};
  const std::size_t len[] = {9, options_.stream.size(), 1, 1, 5, 1};
  if (connection_->send_argv(6, argv, len, kLastEntry)) reading_ = true;
}

bool StreamTail::idle() const {
  return options_.bus == nullptr && interested_ && !interested_();
}

void StreamTail::restart_after(std::optional<StreamId> id) {
  io_.post([this, id] {
    if (stopping_) return;
    cursor_ = id;
    if (cursor_) publish_position();
    if (reading_) {
      discard_next_ = true;  // what that read brings is from before the restart
    } else {
      read();
    }
  });
}

void StreamTail::on_down(std::string_view) noexcept {
  // The read in flight will never be answered; the position stays where the
  // last delivered entry put it, and on_ready() reads on from there.
  reading_ = false;
  discard_next_ = false;
}

void StreamTail::read() noexcept {
  if (stopping_ || reading_ || !connection_->ready() || idle()) return;
  if (!cursor_) {
    resolve_latest();
    return;
  }
  send_read(*cursor_);
}

void StreamTail::send_read(StreamId after) noexcept {
  char id[StreamId::kMaxText];
  const std::size_t id_len = after.format(id);
  const char* argv[] = {"XREAD", "COUNT", count_text_.c_str(), "BLOCK", block_text_.c_str(),
                        "STREAMS", options_.stream.c_str(), id};
  const std::size_t len[] = {5, 5, count_text_.size(), 5, block_text_.size(), 7, options_.stream.size(), id_len};
  if (connection_->send_argv(8, argv, len, kRead, options_.block)) reading_ = true;
}

void StreamTail::on_retry(uv_timer_t* timer) {
  static_cast<StreamTail*>(timer->data)->read();
}

void StreamTail::on_reply(std::uintptr_t tag, redisReply* reply) noexcept {
  if (stopping_) return;
  reading_ = false;
  if (reply->type == REDIS_REPLY_ERROR) {
    // WRONGTYPE, NOPERM and the like: nothing to read until someone fixes
    // Redis; the refusal keeps the breaker open and slows the retries.
    connection_->refuse(std::string(tag == kLastEntry ? "XREVRANGE refused by Redis: " : "XREAD refused by Redis: ") +
                        std::string(reply->str, reply->len));
    return;
  }
  connection_->command_succeeded();
  if (tag == kLastEntry) {
    StreamId last{};
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
      if (const auto id = StreamId::parse(entry_id(reply->element[0]))) last = *id;
    }
    cursor_ = last;
    publish_position();
    read();
    return;
  }
  reads_.fetch_add(1, std::memory_order_relaxed);
  if (discard_next_) {
    // Read ahead from past an entry the bus could not take: those entries
    // are read again from the position once the bus has room.
    discard_next_ = false;
    retry_soon();
    return;
  }
  read_reply(reply);
}

void StreamTail::read_reply(const redisReply* reply) noexcept {
  // Nil: BLOCK timed out with nothing new. Otherwise [[stream, [entries]]].
  std::size_t delivered = 0;
  bool stalled = false;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
    const redisReply* s = reply->element[0];
    const redisReply* entries = s->type == REDIS_REPLY_ARRAY && s->elements >= 2 ? s->element[1] : nullptr;
    if (entries != nullptr && entries->type == REDIS_REPLY_ARRAY && entries->elements > 0) {
      const auto last = StreamId::parse(entry_id(entries->element[entries->elements - 1]));
      // A full page means more is waiting: ask for the next one now, so
      // Redis and the network work while this page is decoded.
      if (last && entries->elements == options_.count) {
        send_read(*last);
        connection_->flush();
      }
      if (idle()) {
        if (last) cursor_ = *last;
        publish_position();
        read();
        return;
      }
      for (std::size_t i = 0; i < entries->elements; ++i) {
        if (!deliver(entries->element[i])) {
          stalled = true;
          break;
        }
        ++delivered;
      }
    }
  }
  if (delivered != 0) {
    delivered_.fetch_add(delivered, std::memory_order_relaxed);
    publish_position();
    if (batch_done_) {
      try {
        batch_done_(delivered);
      } catch (...) {
        handler_exceptions_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  if (stalled) {
    back_pressured_.fetch_add(1, std::memory_order_relaxed);
    if (reading_) {
      discard_next_ = true;  // its reply starts past the entry we stopped at
    } else {
      retry_soon();
    }
    return;
  }
  read();
}

bool StreamTail::deliver(const redisReply* entry) noexcept {
  const std::string_view id_text = entry_id(entry);
  const auto id = StreamId::parse(id_text);
  if (!id) {
    skips_.record(DecodeError::missing_field, "(malformed reply)");
    return true;
  }
  EventFields fields;
  bool decoded = false;
  try {
    decoded = decode_entry_view(entry, skips_, fields);
  } catch (...) {
    // Only a decoder buffer that cannot grow throws: count it as unreadable.
    skips_.record(DecodeError::not_json, id_text);
  }
  if (!decoded) {
    cursor_ = *id;  // passed over, never read again
    return true;
  }
  if (options_.bus != nullptr) {
    const PublishStatus s = options_.bus->try_publish({.type = fields.type,
                                                       .source = fields.source,
                                                       .data = fields.data,
                                                       .metadata = fields.metadata,
                                                       .origin = EventOrigin::remote,
                                                       .timestamp_ns = fields.timestamp_ns,
                                                       .event_id = fields.event_id,
                                                       .stream_id = *id});
    if (s == PublishStatus::back_pressured) return false;
    // too_large or closed: the bus cannot carry it; the handler still gets it.
  }
  if (handler_) {
    try {
      handler_(TailEntry{*id, id_text, fields});
    } catch (const std::exception& e) {
      handler_exceptions_.fetch_add(1, std::memory_order_relaxed);
      if (!logged_handler_exception_.exchange(true)) {
        log(LogLevel::error, options_.connection.name + ": a handler threw (" + e.what() +
                                 "); further exceptions are only counted");
      }
    } catch (...) {
      handler_exceptions_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  cursor_ = *id;
  return true;
}

}  // namespace tradpal::redis
