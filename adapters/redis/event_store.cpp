#include "adapters/redis/event_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "adapters/redis/stream_id.h"

namespace tradpal::redis {
namespace {

bool matches(EventTypeSet types, const Event& e) noexcept { return types.empty() || types.contains(e.type); }

void expect_array(const ReplyPtr& r, const char* what) {
  if (r->type == REDIS_REPLY_ERROR) throw RedisError(std::string(what) + " failed: " + std::string(r->str, r->len));
  if (r->type != REDIS_REPLY_ARRAY) throw RedisError(std::string(what) + ": unexpected reply type");
}

std::string text(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) return std::string(r->str, r->len);
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  return {};
}

std::optional<RawEntry> raw_entry(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 2) return std::nullopt;
  RawEntry e;
  e.id = text(r->element[0]);
  const redisReply* f = r->element[1];
  if (f->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i + 1 < f->elements; i += 2) e.fields.emplace_back(text(f->element[i]), text(f->element[i + 1]));
  }
  return e;
}

// XINFO replies are flat [key, value, key, value, ...] arrays in RESP2.
const redisReply* field(const redisReply* map, std::string_view key) noexcept {
  if (map == nullptr || map->type != REDIS_REPLY_ARRAY) return nullptr;
  for (std::size_t i = 0; i + 1 < map->elements; i += 2) {
    const redisReply* k = map->element[i];
    if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) && std::string_view(k->str, k->len) == key) {
      return map->element[i + 1];
    }
  }
  return nullptr;
}

std::uint64_t integer(const redisReply* r) noexcept {
  return r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? static_cast<std::uint64_t>(r->integer)
                                                                         : 0;
}

}  // namespace

EventStore::EventStore(EventStoreOptions options)
    : options_(std::move(options)), client_(options_.url, options_.timeout) {
  if (options_.page_size == 0) throw ConfigError("event store: page size must be positive");
}

void EventStore::scan_forward(std::string start, const std::string& end, EventTypeSet types,
                              const std::function<bool(StoredEvent&&)>& visit, ReplayProgress* progress,
                              const Progress& report) {
  const std::string count = std::to_string(options_.page_size);
  ReplyPtr r = client_.command({"XRANGE", options_.stream, start, end, "COUNT", count});
  for (;;) {
    expect_array(r, "XRANGE");
    // A full page means there may be more: ask for the next page before
    // decoding this one, so Redis works while we decode.
    const bool more = r->elements == options_.page_size;
    if (more) {
      start.assign("(").append(entry_id(r->element[r->elements - 1]));
      client_.append({"XRANGE", options_.stream, start, end, "COUNT", count});
    }
    bool stop = false;
    for (std::size_t i = 0; i < r->elements && !stop; ++i) {
      const redisReply* entry = r->element[i];
      if (progress != nullptr) {
        ++progress->scanned;
        progress->last_id.assign(entry_id(entry));
      }
      auto decoded = decode_entry(entry, skips_);
      if (!decoded || !matches(types, decoded->event)) continue;
      stop = !visit(std::move(*decoded));
    }
    if (progress != nullptr && report) report(*progress);
    if (!more) return;
    ReplyPtr next = client_.get_reply();  // drained even when stopping early
    if (stop) return;
    r = std::move(next);
  }
}

std::vector<StoredEvent> EventStore::get_events(EventTypeSet types, std::optional<TimestampNs> start_time,
                                                std::optional<TimestampNs> end_time, std::size_t limit) {
  std::vector<StoredEvent> out;
  if (limit == 0) return out;
  const std::string end = end_time ? end_id_for(*end_time) : std::string("+");
  std::lock_guard lock(mutex_);
  if (start_time) {
    scan_forward(start_id_for(*start_time), end, types,
                 [&](StoredEvent&& e) {
                   out.push_back(std::move(e));
                   return out.size() < limit;
                 },
                 nullptr, {});
    return out;
  }
  // The most recent `limit` matches: page backwards, then put them in order.
  const std::string count = std::to_string(options_.page_size);
  std::string upper = end;
  for (;;) {
    ReplyPtr r = client_.command({"XREVRANGE", options_.stream, upper, "-", "COUNT", count});
    expect_array(r, "XREVRANGE");
    for (std::size_t i = 0; i < r->elements && out.size() < limit; ++i) {
      const redisReply* entry = r->element[i];
      const std::string_view id = entry_id(entry);
      if (!id.empty()) upper.assign("(").append(id);
      auto decoded = decode_entry(entry, skips_);
      if (decoded && matches(types, decoded->event)) out.push_back(std::move(*decoded));
    }
    if (out.size() >= limit || r->elements < options_.page_size) break;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::uint64_t EventStore::replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                                 std::optional<TimestampNs> end_time, const Handler& handler,
                                 const Progress& progress) {
  ReplayProgress p;
  std::lock_guard lock(mutex_);
  scan_forward(start_time ? start_id_for(*start_time) : std::string("-"),
               end_time ? end_id_for(*end_time) : std::string("+"), types,
               [&](StoredEvent&& e) {
                 handler(e);
                 ++p.replayed;
                 return true;
               },
               &p, progress);
  return p.replayed;
}

std::uint64_t EventStore::replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                                 std::optional<TimestampNs> end_time, Bus& bus, const Progress& progress) {
  ReplayProgress p;
  std::lock_guard lock(mutex_);
  scan_forward(start_time ? start_id_for(*start_time) : std::string("-"),
               end_time ? end_id_for(*end_time) : std::string("+"), types,
               [&](StoredEvent&& e) {
                 const PublishStatus s = bus.publish({.type = e.event.type,
                                                      .source = e.event.source,
                                                      .data = e.event.data,
                                                      .metadata = e.event.metadata,
                                                      .origin = EventOrigin::replayed,
                                                      .timestamp_ns = e.event.timestamp_ns,
                                                      .event_id = e.event.event_id});
                 if (s == PublishStatus::closed) return false;
                 // too_large / invalid: the stream holds what this bus cannot
                 // carry; it is skipped, not counted as replayed.
                 if (s == PublishStatus::ok) ++p.replayed;
                 return true;
               },
               &p, progress);
  return p.replayed;
}

StreamStats EventStore::stats() {
  StreamStats s;
  std::lock_guard lock(mutex_);
  ReplyPtr info = client_.command({"XINFO", "STREAM", options_.stream});
  if (info->type == REDIS_REPLY_ERROR) {
    // "ERR no such key": an empty stats answer, as for a stream never written.
    if (std::string_view(info->str, info->len).find("no such key") != std::string_view::npos) return s;
    throw RedisError("XINFO STREAM failed: " + std::string(info->str, info->len));
  }
  s.exists = true;
  s.length = integer(field(info.get(), "length"));
  s.last_generated_id = text(field(info.get(), "last-generated-id"));
  s.first_entry = raw_entry(field(info.get(), "first-entry"));
  s.last_entry = raw_entry(field(info.get(), "last-entry"));
  ReplyPtr groups = client_.command({"XINFO", "GROUPS", options_.stream});
  expect_array(groups, "XINFO GROUPS");
  for (std::size_t i = 0; i < groups->elements; ++i) {
    const redisReply* g = groups->element[i];
    GroupStats gs;
    gs.name = text(field(g, "name"));
    gs.consumers = integer(field(g, "consumers"));
    gs.pending = integer(field(g, "pending"));
    gs.last_delivered_id = text(field(g, "last-delivered-id"));
    if (const redisReply* lag = field(g, "lag"); lag != nullptr && lag->type == REDIS_REPLY_INTEGER) {
      gs.lag = static_cast<std::uint64_t>(std::max<long long>(lag->integer, 0));
    }
    s.groups.push_back(std::move(gs));
  }
  return s;
}

void EventStore::ensure_group(const std::string& group, const std::string& start_id) {
  std::lock_guard lock(mutex_);
  ReplyPtr r = client_.command({"XGROUP", "CREATE", options_.stream, group, start_id, "MKSTREAM"});
  if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).rfind("BUSYGROUP", 0) != 0) {
    throw RedisError("XGROUP CREATE failed: " + std::string(r->str, r->len));
  }
}

}  // namespace tradpal::redis
