#include "adapters/redis/persister.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <future>

#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/log.h"
#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/wait_strategy.h"

namespace tradpal::redis {
namespace {

void append_bulk(std::string& out, std::string_view s) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, s.size());
  out += '$';
  out.append(digits, r.ptr);
  out += "\r\n";
  out += s;
  out += "\r\n";
}

// What a string holds on the heap: nothing while its text fits inline.
std::size_t heap_bytes(const std::string& s) noexcept {
  static const std::size_t inline_capacity = std::string().capacity();
  return s.capacity() > inline_capacity ? s.capacity() : 0;
}

std::uint64_t wall_ms() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Persister::Persister(Bus& bus, IoThread& io, PersisterOptions options)
    : bus_(bus), io_(io), io_lease_(io), options_(std::move(options)) {
  if (options_.max_length && options_.max_age) throw ConfigError("persister: MAXLEN and MINID retention are exclusive");
  if (options_.max_batch == 0 || options_.max_in_flight == 0 || options_.max_buffered == 0 ||
      options_.max_buffered_bytes == 0) {
    throw ConfigError("persister: batch, in-flight and buffer sizes must be positive");
  }
  if (options_.partitioning != nullptr) {
    if (options_.partition >= options_.partitioning->count()) {
      throw ConfigError("persister: partition " + std::to_string(options_.partition) + " of " +
                        std::to_string(options_.partitioning->count()));
    }
    options_.stream = options_.partitioning->stream(options_.partition);
  }
  if (options_.stream.empty()) throw ConfigError("persister: empty stream name");
  if (options_.replicas < 0 || options_.replica_timeout.count() <= 0) {
    throw ConfigError("persister: replicas must be 0 or more and the replica timeout positive");
  }
  entries_.resize(options_.max_buffered);
  // One read can bring at most every reply in flight (recovery finds fewer).
  acks_.reserve(std::max(options_.max_in_flight, std::size_t{512}));
  const int arity = 5 + (options_.max_length || options_.max_age ? 3 : 0);
  xadd_prefix_ = '*' + std::to_string(arity) + "\r\n";
  append_bulk(xadd_prefix_, "XADD");
  append_bulk(xadd_prefix_, options_.stream);
  if (options_.connection.name == "redis") options_.connection.name = "persister";
  // On a cluster: straight to the node that holds the stream.
  if (options_.connection.route_key.empty()) options_.connection.route_key = options_.stream;

  subscription_ = bus_.subscribe({.mode = BackPressure::block});
  io_.run_sync([this] {
    connection_ = std::make_unique<AsyncConnection>(io_.loop(), options_.connection, static_cast<ConnectionOwner&>(*this));
    uv_async_init(io_.loop(), &wake_, [](uv_async_t* h) { static_cast<Persister*>(h->data)->pump(); });
    wake_.data = this;
    ++open_handles_;
    connection_->start();
  });
  if (options_.watch_ring) {
    doorbell_added_ = bus_.ring().add_doorbell(doorbell_);
    if (!doorbell_added_) {
      stop();
      throw ConfigError("persister: the bus's ring has no doorbell free (" +
                        std::to_string(Ring::kMaxDoorbells) + " persisters or loops already watch it)");
    }
  }
  // Events may already be waiting.
  io_.post([this] { pump(); });
}

Persister::~Persister() { stop(); }

void Persister::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  // After this no publisher calls us, and wake_ may close.
  if (doorbell_added_) bus_.ring().remove_doorbell(doorbell_);
  std::promise<void> closed;
  auto done = closed.get_future();
  const bool posted = io_.run_sync([&] {
    stopped_ = true;
    // Two handles to close: the async wake-up and the connection (with its
    // own handles); the destructor may run only after both callbacks.
    open_handles_ = 2;
    on_closed_ = [this, &closed] {
      if (--open_handles_ == 0) closed.set_value();
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_),
             [](uv_handle_t* h) { static_cast<Persister*>(h->data)->on_closed_(); });
    connection_->close([this] { on_closed_(); });
  });
  if (posted) done.wait();
  // Whatever Redis never acknowledged will not be: tell the waiters.
  if (options_.listener != nullptr) {
    std::vector<std::uint64_t> abandoned;
    try {
      for (std::uint64_t i = acked_; i < end_; ++i) {
        const Entry& e = entries_[i % entries_.size()];
        if (e.correlation != 0) abandoned.push_back(e.correlation);
      }
    } catch (...) {
      log(LogLevel::error, "persister: out of memory listing abandoned events");
    }
    options_.listener->abandoned(abandoned);
  }
  subscription_.close();
}

bool Persister::wait_idle(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!subscription_.available() && buffered_.load(std::memory_order_acquire) == 0 &&
        unhanded_.load(std::memory_order_acquire) == 0) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

PersisterHealth Persister::health() const {
  PersisterHealth h;
  h.breaker = connection_->breaker_state();
  h.connected = connection_->connected();
  h.refusing = connection_->refusing();
  h.last_error = connection_->last_error();
  h.node = connection_->node();
  h.persisted = persisted_.load(std::memory_order_relaxed);
  h.buffered = buffered_.load(std::memory_order_relaxed);
  h.slot_bytes = slot_bytes_.load(std::memory_order_relaxed);
  h.skipped_foreign = skipped_foreign_.load(std::memory_order_relaxed);
  h.recovered = recovered_.load(std::memory_order_relaxed);
  h.refused = refused_.load(std::memory_order_relaxed);
  h.redirects = connection_->redirects();
  h.replica_waits = replica_waits_.load(std::memory_order_relaxed);
  h.connect_attempts = connection_->connect_attempts();
  h.failures = connection_->failures();
  h.reply_timeouts = connection_->reply_timeouts();
  h.persisted_sequence = persisted_sequence_.load(std::memory_order_relaxed);
  return h;
}

// ---- doorbell -----------------------------------------------------------------

// On a publisher's thread, the first commit after arm_doorbell(): wake the loop.
void Persister::doorbell_rung(void* self) noexcept {
  uv_async_send(&static_cast<Persister*>(self)->wake_);
}

void Persister::arm_doorbell() noexcept {
  // Without the doorbell the publishers' notify() brings us back.
  if (!doorbell_added_ || stopping_.load(std::memory_order_acquire)) return;
  bus_.ring().arm_doorbell(doorbell_);
  // A commit just before arming may have found it unarmed: look once more.
  // If a publisher took the doorbell meanwhile, it has rung it already.
  if (subscription_.available() && bus_.ring().disarm_doorbell(doorbell_)) uv_async_send(&wake_);
}

void Persister::notify() noexcept {
  if (!stopping_.load(std::memory_order_acquire)) uv_async_send(&wake_);
}

// ---- loop thread ------------------------------------------------------------

void Persister::pump() noexcept {
  if (stopped_) return;
  take_from_ring();
  send_unsent();
  // The doorbell wakes us when more arrives and nothing is in flight;
  // with a full buffer, or XADDs out, the next reply calls pump() instead.
  // Past the byte budget, the replies that free it call pump() again.
  if (end_ - acked_ < entries_.size() && buffered_bytes_ < options_.max_buffered_bytes) {
    if (subscription_.available()) {
      // More is already there (the batch limit stopped us): come back after
      // the loop has had a turn at the socket.
      uv_async_send(&wake_);
    } else if (sent_ == acked_) {
      arm_doorbell();
    }
    // Else XADDs are out and their replies call pump() (the last one
    // always): what publishers commit meanwhile goes out with the next
    // burst, as a pipelining client would send it, and no publisher pays a
    // wake-up per event at high rates.
  }
}

void Persister::take_from_ring() noexcept {
  const std::size_t room = entries_.size() - (end_ - acked_);
  if (room == 0) return;
  const std::size_t limit = std::min(room, options_.max_batch);
  // The handler copies each event out: the ring may reuse the frame as soon
  // as poll() returns, and Redis has not seen it yet.
  auto take = [this](const EventView& view, bool) {
        // Another partition's persister writes it (or counts or refuses it):
        // each event is one persister's, so counters add up across them.
        if (options_.partitioning != nullptr) {
          const std::size_t p = options_.partition_memo != nullptr
                                    ? options_.partition_memo->partition_of(*options_.partitioning, view)
                                    : options_.partitioning->partition_of(view);
          if (p != options_.partition) return;
        }
        if (view.origin() != EventOrigin::local) {
          skipped_foreign_.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        // The bus checks only the shape of data and metadata. An event whose
        // JSON no reader can parse would be skipped by every one of them:
        // refuse it here rather than hand out a message id for it.
        bool valid = false;
        try {
          valid = has_valid_json(view);
        } catch (...) {
        }
        if (!valid) {
          refused_.fetch_add(1, std::memory_order_relaxed);
          if (!logged_refusal_) {
            logged_refusal_ = true;
            log(LogLevel::error, "persister: refusing an event whose data or metadata is not valid JSON; "
                                 "further refusals are only counted");
          }
          if (options_.listener != nullptr && view.correlation() != 0) {
            options_.listener->refused(view.correlation(), "data or metadata is not valid JSON");
          }
          return;
        }
        Entry& e = entries_[end_ % entries_.size()];
        e.json.clear();
        const std::size_t capacity_before = heap_bytes(e.json);
        try {
          append_event_json(e.json, view);
        } catch (...) {
          // Only allocation can fail here; an event we cannot hold is logged
          // rather than taking the I/O thread down.
          log(LogLevel::error, "persister: cannot encode an event (out of memory); it is not persisted");
          return;
        }
        slot_bytes_.fetch_add(heap_bytes(e.json) - capacity_before, std::memory_order_relaxed);
        buffered_bytes_ += e.json.size();
        e.correlation = view.correlation();
        e.sequence = view.sequence();
        ++end_;
        buffered_.fetch_add(1, std::memory_order_release);
  };
  // In steps, so a run of large events overshoots the byte budget by at
  // most one step's worth; what stays in the ring back-pressures publishers.
  constexpr std::size_t kStep = 32;
  std::size_t taken = 0;
  while (taken < limit && buffered_bytes_ < options_.max_buffered_bytes) {
    const std::size_t step = std::min(kStep, limit - taken);
    const std::size_t got = subscription_.poll(take, step);
    taken += got;
    if (got < step) break;
  }
}

void Persister::append_xadd(const Entry& e) {
  command_ += xadd_prefix_;
  if (options_.max_length) {
    append_bulk(command_, "MAXLEN");
    append_bulk(command_, "~");
    append_bulk(command_, std::to_string(*options_.max_length));
  } else if (options_.max_age) {
    const std::uint64_t now = wall_ms();
    const auto age = static_cast<std::uint64_t>(options_.max_age->count());
    append_bulk(command_, "MINID");
    append_bulk(command_, "~");
    append_bulk(command_, std::to_string(now > age ? now - age : 0) + "-0");
  }
  append_bulk(command_, "*");
  append_bulk(command_, "event");
  append_bulk(command_, e.json);
}

void Persister::send_unsent() noexcept {
  // Nothing goes out while a recovery is due or running, nor while a write
  // probe is out after a refusal: a burst sent then would resend entries of
  // the lost window that Redis may have written already.
  if (!connection_->ready() || connection_->refusing() || recovering_ || needs_recovery_ || !baseline_known_) {
    return;
  }
  std::size_t burst = 0;
  try {
    while (sent_ < end_ && sent_ - acked_ < options_.max_in_flight && burst < options_.max_batch) {
      command_.clear();
      append_xadd(entries_[sent_ % entries_.size()]);
      if (!connection_->send_formatted(command_, kXadd)) break;
      ++sent_;
      ++burst;
    }
  } catch (...) {
    log(LogLevel::error, "persister: out of memory formatting a burst");
  }
  if (burst != 0) {
    // One WAIT covers every write sent before it on this connection. Only
    // one is out at a time: WAIT blocks the connection, so WAITs in a row
    // would each wait out the timeout in turn, past any reply deadline.
    if (options_.replicas > 0 && waits_out_ == 0) (void)send_wait();
    connection_->flush();
  }
}

bool Persister::send_wait() noexcept {
  char replicas[16];
  char timeout[24];
  const auto r = std::to_chars(replicas, replicas + sizeof replicas, options_.replicas);
  const auto t = std::to_chars(timeout, timeout + sizeof timeout, options_.replica_timeout.count());
  const char* argv[] = {"WAIT", replicas, timeout};
  const std::size_t len[] = {4, static_cast<std::size_t>(r.ptr - replicas), static_cast<std::size_t>(t.ptr - timeout)};
  if (!connection_->send_argv(3, argv, len, kWait, options_.replica_timeout)) return false;
  ++waits_out_;
  return true;
}

void Persister::wait_reply(const redisReply* reply) noexcept {
  if (waits_out_ > 0) --waits_out_;
  if (reply->type != REDIS_REPLY_INTEGER) {
    const std::string why = "WAIT failed: " + std::string(reply->str != nullptr ? reply->str : "unexpected reply");
    if (reply->type == REDIS_REPLY_ERROR) {
      connection_->refuse(why);
    } else {
      connection_->fail(why);
    }
    return;
  }
  if (reply->integer < options_.replicas) {
    // Too few replicas hold the burst yet: hold its events and ask again
    // (a later WAIT already out covers them too). Publishers feel it as
    // back-pressure once the in-flight budget is spent.
    if (replica_waits_.fetch_add(1, std::memory_order_relaxed) % 100 == 0) {
      log(LogLevel::warning, "persister: " + std::to_string(reply->integer) + " of " +
                                 std::to_string(options_.replicas) + " replicas acknowledged within " +
                                 std::to_string(options_.replica_timeout.count()) + " ms; waiting on");
    }
    if (waits_out_ == 0 && send_wait()) connection_->flush();
    return;
  }
  // This WAIT's writes are confirmed; those sent after it need one of their own.
  // Every XADD sent before this WAIT has been answered: [acked_, executed_).
  if (acked_ < executed_) {
    char text[StreamId::kMaxText];
    const StreamId last = entries_[(executed_ - 1) % entries_.size()].id;
    last_id_.assign(text, last.format(text));
  }
  while (acked_ < executed_) acknowledge_front(entries_[acked_ % entries_.size()].id);
  if (sent_ != acked_ && waits_out_ == 0 && send_wait()) connection_->flush();
  refill();
}

void Persister::acknowledge_front(StreamId id) noexcept {
  Entry& e = entries_[acked_ % entries_.size()];
  if (options_.listener != nullptr) {
    // Reserved at construction; should one read ever bring more, hand the
    // gathered part over first rather than allocate here.
    if (acks_.size() == acks_.capacity()) hand_over_acks();
    acks_.push_back(Acknowledgement{e.correlation, e.sequence, id});
    unhanded_.fetch_add(1, std::memory_order_release);
  }
  // Recovery may acknowledge out of bus order (see recovery_page).
  if (e.sequence > persisted_sequence_.load(std::memory_order_relaxed)) {
    persisted_sequence_.store(e.sequence, std::memory_order_relaxed);
  }
  ++acked_;
  buffered_bytes_ -= std::min(buffered_bytes_, e.json.size());
  if (e.json.capacity() > kSlotKeptBytes) {
    // A large event's slot gives its memory back: otherwise one burst of
    // large events would pin max_buffered times their size for good.
    slot_bytes_.fetch_sub(heap_bytes(e.json), std::memory_order_relaxed);
    std::string().swap(e.json);
  }
  persisted_.fetch_add(1, std::memory_order_relaxed);
  buffered_.fetch_sub(1, std::memory_order_release);
}

// The end of one socket read: acknowledgements go to the listener first
// (they are what publishers wait for), then one refill sends what was
// committed meanwhile in one write.
void Persister::on_replies_done() noexcept {
  hand_over_acks();
  refill();
}

void Persister::refill() noexcept {
  if (sent_ == acked_ || sent_ - acked_ + options_.max_batch <= options_.max_in_flight) pump();
}

void Persister::hand_over_acks() noexcept {
  if (acks_.empty() || options_.listener == nullptr) return;
  options_.listener->acknowledged(acks_);
  // Only now are these events done: wait_idle() promises the listener has
  // been told of every acknowledgement.
  unhanded_.fetch_sub(acks_.size(), std::memory_order_release);
  acks_.clear();
}

void Persister::push_state(bool connected, std::string_view why) noexcept {
  if (options_.listener == nullptr) return;
  const BreakerState breaker = connection_->breaker_state();
  if (pushed_any_ && connected == pushed_connected_ && breaker == pushed_breaker_) return;
  pushed_any_ = true;
  pushed_connected_ = connected;
  pushed_breaker_ = breaker;
  PersisterState state;
  state.connected = connected;
  state.breaker = breaker;
  try {
    state.last_error = why;
  } catch (...) {
  }
  options_.listener->state_changed(state);
}

void Persister::on_ready() noexcept {
  if (stopped_) return;
  // After a refusal, ask before anything else whether a write would pass:
  // the events that would tell are held back, and those not yet published
  // are answered 503 while Redis refuses.
  if (connection_->refusing()) {
    probe_writes();
    return;
  }
  begin_session();
}

void Persister::probe_writes() noexcept {
  // XADD with id 0-0 is refused by every Redis, but only after the checks
  // that refuse a real XADD before it runs (ACL, OOM, MISCONF, READONLY) and
  // before it looks at the key: TYPE covers the key. Nothing is written.
  const char* xadd[] = {"XADD", options_.stream.c_str(), "0-0", "probe", "1"};
  const std::size_t xadd_len[] = {4, options_.stream.size(), 3, 5, 1};
  const char* type[] = {"TYPE", options_.stream.c_str()};
  const std::size_t type_len[] = {4, options_.stream.size()};
  probe_error_.clear();
  if (!connection_->send_argv(5, xadd, xadd_len, kProbeWrite)) return;
  (void)connection_->send_argv(2, type, type_len, kProbeType);
}

void Persister::probe_reply(std::uintptr_t tag, const redisReply* reply) noexcept {
  try {
    if (tag == kProbeWrite) {
      const std::string_view text = reply->type == REDIS_REPLY_ERROR ? std::string_view(reply->str, reply->len) : "";
      // The one refusal that means "a real XADD would pass".
      if (reply->type != REDIS_REPLY_ERROR || text.find("0-0") == std::string_view::npos) {
        probe_error_ = reply->type == REDIS_REPLY_ERROR ? std::string(text) : std::string("unexpected probe reply");
      }
      return;
    }
    if (!probe_error_.empty()) {
      connection_->refuse("XADD refused by Redis: " + probe_error_);
      return;
    }
    const std::string_view type = reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING
                                      ? std::string_view(reply->str, reply->len)
                                      : std::string_view();
    if (type != "stream" && type != "none") {
      connection_->refuse("XADD refused by Redis: WRONGTYPE Operation against a key holding the wrong kind of value (" +
                          options_.stream + " is a " + std::string(type) + ")");
      return;
    }
  } catch (...) {
    connection_->fail("persister: out of memory probing writes");
    return;
  }
  connection_->command_succeeded();
  begin_session();
}

void Persister::begin_session() noexcept {
  push_state(true, {});
  if (!baseline_known_) {
    // Where the stream ends before we write anything: the lower bound of a
    // recovery scan if this connection dies before any reply.
    const char* argv[] = {"XREVRANGE", options_.stream.c_str(), "+", "-", "COUNT", "1"};
    const std::size_t len[] = {9, options_.stream.size(), 1, 1, 5, 1};
    connection_->send_argv(6, argv, len, kBaseline);
    return;
  }
  if (needs_recovery_) {
    recovering_ = true;
    scan_cursor_ = last_id_;
    request_recovery_page();
    return;
  }
  pump();
}

void Persister::on_down(std::string_view why) noexcept {
  // Replies that came before the connection went are acknowledged all the same.
  hand_over_acks();
  push_state(false, why);
  if (sent_ != acked_) {
    needs_recovery_ = true;
    // Everything sent may or may not be in the stream; recovery looks.
    lost_end_ = std::max(lost_end_, sent_);
  }
  sent_ = acked_;
  executed_ = acked_;
  waits_out_ = 0;
  recovering_ = false;
}

void Persister::request_recovery_page() noexcept {
  try {
    const std::string start = "(" + scan_cursor_;
    const char* argv[] = {"XRANGE", options_.stream.c_str(), start.c_str(), "+", "COUNT", "512"};
    const std::size_t len[] = {6, options_.stream.size(), start.size(), 1, 5, 3};
    connection_->send_argv(6, argv, len, kRecover);
  } catch (...) {
    connection_->fail("persister: out of memory during recovery");
  }
}

void Persister::recovery_page(redisReply* reply) noexcept {
  if (reply->type != REDIS_REPLY_ARRAY) {
    const std::string why = "recovery scan failed: " + std::string(reply->str != nullptr ? reply->str : "bad reply");
    if (reply->type == REDIS_REPLY_ERROR) {
      connection_->refuse(why);
    } else {
      connection_->fail(why);
    }
    return;
  }
  // Our lost burst went out in order on one connection. When the connection
  // died, what Redis executed of it is a prefix; when Redis refused a write
  // and then took the next ones (an ACL granted, memory freed, the key fixed
  // while the burst was on its way) it is any subset, in order. So each
  // entry is looked for in the whole lost window, among other writers'.
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* entry = reply->element[i];
    const std::string_view id = entry_id(entry);
    if (id.empty()) continue;
    scan_cursor_.assign(id);
    if (acked_ == lost_end_) continue;
    const auto json = event_field(entry->elements >= 2 ? entry->element[1] : nullptr);
    if (!json) continue;
    for (std::uint64_t j = acked_; j < lost_end_; ++j) {
      if (*json != entries_[j % entries_.size()].json) continue;
      // Written ahead of entries Redis refused: it moves to the front, so
      // the ones still to write keep their order behind it.
      for (std::uint64_t k = j; k > acked_; --k) {
        std::swap(entries_[k % entries_.size()], entries_[(k - 1) % entries_.size()]);
      }
      acknowledge_front(StreamId::parse(id).value_or(StreamId{}));
      recovered_.fetch_add(1, std::memory_order_relaxed);
      last_id_.assign(id);
      break;
    }
  }
  if (reply->elements == 512) {
    request_recovery_page();
    return;
  }
  recovering_ = false;
  needs_recovery_ = false;
  sent_ = acked_;
  executed_ = acked_;
  lost_end_ = acked_;
  pump();
}

void Persister::on_reply(std::uintptr_t tag, redisReply* reply) noexcept {
  if (stopped_) return;
  switch (tag) {
    case kXadd:
      if (reply->type == REDIS_REPLY_ERROR) {
        // WRONGTYPE, NOPERM, OOM, MISCONF: every retry would meet it until
        // someone fixes Redis. The event stays buffered (nothing is lost),
        // the reconnect's recovery finds what of the burst went in, and the
        // refusal keeps the breaker open and the retries slowing down.
        connection_->refuse("XADD refused by Redis: " + std::string(reply->str, reply->len));
        return;
      }
      if (reply->type != REDIS_REPLY_STRING || (options_.replicas > 0 ? executed_ : acked_) == sent_) {
        connection_->fail("XADD: unexpected reply");
        return;
      }
      if (connection_->refusing()) {
        // The first write through after a refusal: the breaker closes now,
        // not at the handshake, and whoever watches must hear of it.
        connection_->command_succeeded();
        push_state(true, {});
      }
      if (options_.replicas > 0) {
        // Held until the burst's WAIT says the replicas have it. last_id_
        // stays at the last confirmed entry: a master that dies before its
        // replicas had this one leaves a stream that ends before it, and
        // the recovery scan must start where the replica's copy surely
        // reaches.
        if (executed_ < sent_) {
          entries_[executed_++ % entries_.size()].id =
              StreamId::parse(std::string_view(reply->str, reply->len)).value_or(StreamId{});
        }
        return;
      }
      last_id_.assign(reply->str, reply->len);
      acknowledge_front(StreamId::parse(last_id_).value_or(StreamId{}));
      // The refill waits for the end of this read (on_replies_done): a pump
      // per reply wrote to the socket once per reply, a system call for the
      // one or two events published in between.
      return;
    case kBaseline:
      if (reply->type == REDIS_REPLY_ARRAY) {
        last_id_ = reply->elements > 0 ? std::string(entry_id(reply->element[0])) : std::string("0-0");
        if (last_id_.empty()) last_id_ = "0-0";
        baseline_known_ = true;
        begin_session();  // a recovery, if one is due, before anything is sent
      } else if (reply->type == REDIS_REPLY_ERROR) {
        connection_->refuse("cannot read the stream's last id: " + std::string(reply->str, reply->len));
      } else {
        connection_->fail("cannot read the stream's last id: unexpected reply");
      }
      return;
    case kRecover:
      recovery_page(reply);
      return;
    case kWait:
      wait_reply(reply);
      return;
    case kProbeWrite:
    case kProbeType:
      probe_reply(tag, reply);
      return;
    default:
      return;
  }
}

}  // namespace tradpal::redis
