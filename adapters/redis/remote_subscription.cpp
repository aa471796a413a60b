#include "adapters/redis/remote_subscription.h"

#include <hiredis/hiredis.h>

#include <deque>
#include <future>
#include <unordered_map>

#include "adapters/redis/log.h"
#include "adapters/redis/partitioning.h"

namespace tradpal::redis {
namespace {

std::string str(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
    return std::string(r->str, r->len);
  }
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return {};
}

std::uint64_t now_ms(uv_loop_t* loop) noexcept { return uv_now(loop); }

}  // namespace

RemoteSubscription::RemoteSubscription(IoThread& io, RemoteSubscriptionOptions options)
    : io_(io), io_lease_(io), options_(std::move(options)) {
  if (options_.stream.empty() || options_.group.empty() || options_.consumer.empty()) {
    throw ConfigError("remote subscription: stream, group and consumer names are required");
  }
  if (options_.count == 0 || options_.max_deliveries == 0) {
    throw ConfigError("remote subscription: count and max_deliveries must be positive");
  }
  // Dead letters go out on the stream's connection, pipelined before the
  // entry's XACK: on a cluster they must live in the stream's hash slot, or
  // the XADD meets MOVED while the XACK goes through, and the entry is gone.
  // A stream without a hash tag (its tag is the whole name) gets one.
  const bool cluster = options_.connection.url.cluster;
  if (options_.dead_letter_stream.empty()) {
    options_.dead_letter_stream =
        cluster && hash_tag(options_.stream) == options_.stream ? "{" + options_.stream + "}:dead"
                                                                : options_.stream + ":dead";
  }
  if (cluster && key_slot(options_.dead_letter_stream) != key_slot(options_.stream)) {
    throw ConfigError("remote subscription: on a cluster the dead-letter stream '" + options_.dead_letter_stream +
                      "' must be in the hash slot of '" + options_.stream +
                      "' (give both the same {hash tag}, or leave it to the default)");
  }
  if (options_.connection.name == "redis") options_.connection.name = "consumer " + options_.consumer;
  // On a cluster: straight to the node that holds the stream.
  if (options_.connection.route_key.empty()) options_.connection.route_key = options_.stream;
  io_.run_sync([this] {
    connection_ = std::make_unique<AsyncConnection>(io_.loop(), options_.connection,
                                                    static_cast<ConnectionOwner&>(*this));
  });
}

RemoteSubscription::~RemoteSubscription() { stop(); }

void RemoteSubscription::on(EventType type, Handler handler) { handlers_[to_index(type)] = std::move(handler); }
void RemoteSubscription::on_any(Handler handler) { any_ = std::move(handler); }

void RemoteSubscription::start() {
  io_.run_sync([this] {
    if (started_) return;
    started_ = true;
    connection_->start();
  });
}

void RemoteSubscription::stop() {
  if (!connection_) return;
  std::promise<void> closed;
  auto done = closed.get_future();
  bool wait = false;
  io_.run_sync([&] {
    if (stopping_) return;
    stopping_ = true;
    wait = true;
    on_closed_ = [&closed] { closed.set_value(); };
    if (acks_in_flight_ == 0 || !connection_->ready()) {
      connection_->close([this] { on_closed_(); });
    } else {
      close_requested_ = true;  // the last ack reply closes
    }
  });
  if (wait) done.wait();
}

void RemoteSubscription::send(const std::vector<std::string>& args, Tag tag, std::chrono::milliseconds allowance) noexcept {
  std::vector<const char*> argv;
  std::vector<std::size_t> len;
  try {
    argv.reserve(args.size());
    len.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      len.push_back(a.size());
    }
  } catch (...) {
    connection_->fail("out of memory");
    return;
  }
  if (!connection_->send_argv(static_cast<int>(argv.size()), argv.data(), len.data(), tag, allowance)) {
    log(LogLevel::warning, options_.connection.name + ": could not queue a command");
  }
}

void RemoteSubscription::on_ready() noexcept {
  if (stopping_) return;
  history_done_ = false;
  claim_cursor_ = "0-0";
  try {
    send({"XGROUP", "CREATE", options_.stream, options_.group, "$", "MKSTREAM"}, kGroup);
  } catch (...) {
    connection_->fail("out of memory");
  }
}

void RemoteSubscription::on_down(std::string_view) noexcept {
  // Whatever was handled but not yet acknowledged stays pending: it comes
  // back with our history after the reconnect (at-least-once).
  acks_in_flight_ = 0;
  to_ack_.clear();
  claimed_entries_.clear();
  if (close_requested_) {
    close_requested_ = false;
    connection_->close([this] { on_closed_(); });
  }
}

void RemoteSubscription::next() noexcept {
  if (stopping_) return;
  if (history_done_ && now_ms(io_.loop()) >= next_claim_ms_) {
    claim();
  } else {
    read();
  }
}

void RemoteSubscription::read() noexcept {
  try {
    std::vector<std::string> args = {"XREADGROUP", "GROUP", options_.group, options_.consumer,
                                     "COUNT",      std::to_string(options_.count)};
    std::chrono::milliseconds allowance(0);
    if (history_done_) {
      // Block no longer than until the next claim is due, so a lone consumer
      // still reclaims its own failures on time.
      const std::uint64_t now = now_ms(io_.loop());
      auto block = options_.block;
      if (next_claim_ms_ > now) {
        block = std::min(block, std::chrono::milliseconds(next_claim_ms_ - now));
      }
      block = std::max(block, std::chrono::milliseconds(1));
      args.insert(args.end(), {"BLOCK", std::to_string(block.count())});
      allowance = block;
    }
    args.insert(args.end(), {"STREAMS", options_.stream, history_done_ ? ">" : "0"});
    send(args, kRead, allowance);
  } catch (...) {
    connection_->fail("out of memory");
  }
}

void RemoteSubscription::claim() noexcept {
  next_claim_ms_ = now_ms(io_.loop()) + static_cast<std::uint64_t>(options_.claim_interval.count());
  try {
    send({"XAUTOCLAIM", options_.stream, options_.group, options_.consumer,
          std::to_string(options_.claim_idle.count()), claim_cursor_, "COUNT", std::to_string(options_.count)},
         kClaim);
  } catch (...) {
    connection_->fail("out of memory");
  }
}

std::vector<RemoteSubscription::OwnedEntry> RemoteSubscription::own(const redisReply* entries) {
  std::vector<OwnedEntry> out;
  if (entries == nullptr || entries->type != REDIS_REPLY_ARRAY) return out;
  out.reserve(entries->elements);
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (e == nullptr || e->type != REDIS_REPLY_ARRAY || e->elements < 1) continue;
    OwnedEntry o;
    o.id = str(e->element[0]);
    const redisReply* f = e->elements >= 2 ? e->element[1] : nullptr;
    if (f == nullptr || f->type != REDIS_REPLY_ARRAY) {
      o.deleted = true;
    } else {
      for (std::size_t j = 0; j + 1 < f->elements; j += 2) o.fields.emplace_back(str(f->element[j]), str(f->element[j + 1]));
    }
    out.push_back(std::move(o));
  }
  return out;
}

bool RemoteSubscription::handle(const OwnedEntry& entry) noexcept {
  const std::string* json = nullptr;
  for (const auto& [k, v] : entry.fields) {
    if (k == "event") {
      json = &v;
      break;
    }
  }
  std::optional<StoredEvent> decoded;
  DecodeError error = DecodeError::missing_field;
  try {
    if (json != nullptr) {
      auto event = decode_event_json(*json, &error);
      if (event) decoded = StoredEvent{entry.id, std::move(*event)};
    }
  } catch (...) {
    error = DecodeError::not_json;
  }
  if (!decoded) {
    skips_.record(error == DecodeError::none ? DecodeError::not_json : error, entry.id);
    dead_letter(entry, 0, std::string("undecodable: ") + std::string(to_string(error)));
    return false;
  }
  bool ok = true;
  try {
    const Handler& h = handlers_[to_index(decoded->event.type)] ? handlers_[to_index(decoded->event.type)] : any_;
    if (h) ok = h(*decoded);
    if (ok && options_.bus != nullptr) {
      const Event& e = decoded->event;
      const PublishStatus s = options_.bus->try_publish({.type = e.type,
                                                         .source = e.source,
                                                         .data = e.data,
                                                         .metadata = e.metadata,
                                                         .origin = EventOrigin::remote,
                                                         .timestamp_ns = e.timestamp_ns,
                                                         .event_id = e.event_id});
      // Back-pressured: leave it pending; it is retried after claim_idle.
      ok = s == PublishStatus::ok || s == PublishStatus::too_large || s == PublishStatus::invalid;
    }
  } catch (const std::exception& ex) {
    ok = false;
    log(LogLevel::warning, options_.connection.name + ": handler threw on " + entry.id + ": " + ex.what());
  } catch (...) {
    ok = false;
    log(LogLevel::warning, options_.connection.name + ": handler threw on " + entry.id);
  }
  if (ok) {
    handled_.fetch_add(1, std::memory_order_relaxed);
  } else {
    failed_.fetch_add(1, std::memory_order_relaxed);
  }
  return ok;
}

void RemoteSubscription::dead_letter(const OwnedEntry& entry, std::uint64_t deliveries, std::string_view reason) noexcept {
  try {
    std::vector<std::string> args = {"XADD", options_.dead_letter_stream, "*"};
    for (const auto& [k, v] : entry.fields) {
      args.push_back(k);
      args.push_back(v);
    }
    args.insert(args.end(), {"original_id", entry.id, "deliveries", std::to_string(deliveries), "reason",
                             std::string(reason)});
    send(args, kDeadLetter);
    // Acked in the same pipeline, after the XADD: Redis executes in order,
    // and a failed XADD is logged when its reply comes.
    to_ack_.push_back(entry.id);
    dead_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, options_.connection.name + ": moved " + entry.id + " to " + options_.dead_letter_stream +
                               " (" + std::string(reason) + ")");
  } catch (...) {
    connection_->fail("out of memory");
  }
}

void RemoteSubscription::process(std::vector<OwnedEntry>& entries, const std::vector<std::uint64_t>* deliveries) noexcept {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const OwnedEntry& e = entries[i];
    if (e.deleted) {
      // Pending but trimmed from the stream: nothing left to handle.
      to_ack_.push_back(e.id);
      continue;
    }
    const std::uint64_t d = deliveries != nullptr ? (*deliveries)[i] : 1;
    if (d > options_.max_deliveries) {
      dead_letter(e, d, "delivered " + std::to_string(d) + " times without success");
      continue;
    }
    if (handle(e)) {
      try {
        to_ack_.push_back(e.id);
      } catch (...) {
      }
    }
  }
}

void RemoteSubscription::send_acks() noexcept {
  if (to_ack_.empty()) return;
  try {
    std::vector<std::string> args = {"XACK", options_.stream, options_.group};
    args.insert(args.end(), to_ack_.begin(), to_ack_.end());
    to_ack_.clear();
    send(args, kAck);
    ++acks_in_flight_;
  } catch (...) {
    connection_->fail("out of memory");
  }
}

void RemoteSubscription::read_reply(redisReply* reply) noexcept {
  reads_.fetch_add(1, std::memory_order_relaxed);
  std::vector<OwnedEntry> entries;
  try {
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
      const redisReply* s = reply->element[0];
      if (s->type == REDIS_REPLY_ARRAY && s->elements >= 2) entries = own(s->element[1]);
    }
  } catch (...) {
    connection_->fail("out of memory");
    return;
  }
  if (!history_done_ && entries.empty()) history_done_ = true;
  process(entries, nullptr);
  send_acks();
  if (!history_done_) {
    // Our own pending entries come back from "0" on every read until we have
    // handled or failed them all; failures are left for the claim cycle.
    history_done_ = true;
  }
  next();
}

void RemoteSubscription::claim_reply(redisReply* reply) noexcept {
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
    log(LogLevel::warning, options_.connection.name + ": XAUTOCLAIM failed: " + str(reply));
    next_claim_ms_ = now_ms(io_.loop()) + static_cast<std::uint64_t>(options_.claim_interval.count());
    read();
    return;
  }
  claim_cursor_ = str(reply->element[0]);
  try {
    claimed_entries_ = own(reply->element[1]);
  } catch (...) {
    connection_->fail("out of memory");
    return;
  }
  if (claimed_entries_.empty()) {
    read();
    return;
  }
  claimed_.fetch_add(claimed_entries_.size(), std::memory_order_relaxed);
  // XAUTOCLAIM does not say how often an entry was delivered; XPENDING does.
  try {
    send({"XPENDING", options_.stream, options_.group, claimed_entries_.front().id, claimed_entries_.back().id,
          std::to_string(claimed_entries_.size() + 1000), options_.consumer},
         kPending);
  } catch (...) {
    connection_->fail("out of memory");
  }
}

void RemoteSubscription::pending_reply(redisReply* reply) noexcept {
  std::vector<OwnedEntry> entries = std::move(claimed_entries_);
  claimed_entries_.clear();
  std::vector<std::uint64_t> deliveries(entries.size(), 1);
  try {
    std::unordered_map<std::string, std::uint64_t> counts;
    if (reply->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < reply->elements; ++i) {
        const redisReply* p = reply->element[i];
        if (p->type == REDIS_REPLY_ARRAY && p->elements >= 4 && p->element[3]->type == REDIS_REPLY_INTEGER) {
          counts[str(p->element[0])] = static_cast<std::uint64_t>(p->element[3]->integer);
        }
      }
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (auto it = counts.find(entries[i].id); it != counts.end()) deliveries[i] = it->second;
    }
  } catch (...) {
    connection_->fail("out of memory");
    return;
  }
  process(entries, &deliveries);
  send_acks();
  // More idle entries may wait behind the cursor: claim again at once.
  if (claim_cursor_ != "0-0") next_claim_ms_ = 0;
  next();
}

void RemoteSubscription::on_reply(std::uintptr_t tag, redisReply* reply) noexcept {
  switch (tag) {
    case kGroup:
      if (reply->type == REDIS_REPLY_ERROR && str(reply).rfind("BUSYGROUP", 0) != 0) {
        connection_->fail("XGROUP CREATE failed: " + str(reply));
        return;
      }
      next();
      return;
    case kRead:
      if (reply->type == REDIS_REPLY_ERROR) {
        // NOGROUP after the stream was deleted: recreate on the next connect.
        connection_->fail("XREADGROUP failed: " + str(reply));
        return;
      }
      read_reply(reply);
      return;
    case kClaim:
      claim_reply(reply);
      return;
    case kPending:
      pending_reply(reply);
      return;
    case kDeadLetter:
      if (reply->type == REDIS_REPLY_ERROR) log(LogLevel::error, "dead-letter XADD failed: " + str(reply));
      return;
    case kAck:
      if (reply->type == REDIS_REPLY_ERROR) log(LogLevel::warning, "XACK failed: " + str(reply));
      if (acks_in_flight_ > 0) --acks_in_flight_;
      if (close_requested_ && acks_in_flight_ == 0) {
        close_requested_ = false;
        connection_->close([this] { on_closed_(); });
      }
      return;
    default:
      return;
  }
}

}  // namespace tradpal::redis
