#include "adapters/redis/event_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <exception>
#include <stdexcept>
#include <thread>

#include "adapters/redis/stream_id.h"

namespace tradpal::redis {
// How many entries to ask for per page. A fixed COUNT of 1,000 asked Redis
// for a gigabyte when events are a megabyte each (and timed out), and read
// 1,000 entries to answer limit=1. Pages start near what the caller wants,
// at most double from one page to the next, and stay under max_bytes by the
// size of the entries seen so far.
struct PageSizer {
  std::size_t first_count;
  std::size_t max_count;
  std::size_t max_bytes;

  [[nodiscard]] std::size_t first() const noexcept { return std::clamp<std::size_t>(first_count, 1, max_count); }
  [[nodiscard]] std::size_t after(const redisReply* page, std::size_t asked) const noexcept {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < page->elements; ++i) bytes += entry_bytes(page->element[i]);
    const std::size_t per_entry = std::max<std::size_t>(1, bytes / std::max<std::size_t>(1, page->elements));
    return std::clamp<std::size_t>(std::min(2 * asked, max_bytes / per_entry), 1, max_count);
  }
  static std::size_t entry_bytes(const redisReply* entry) noexcept {
    if (entry == nullptr || entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) return 0;
    const redisReply* fields = entry->element[1];
    std::size_t n = 0;
    if (fields != nullptr && fields->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < fields->elements; ++i) n += fields->element[i]->len;
    }
    return n;
  }
};

namespace {

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

// Republishes an event read from the stream (an Event, or the decoder's
// EventFields views) with origin replayed, so the persister never writes it back.
template <typename Fields>
PublishStatus publish_replayed(Bus& bus, const Fields& e) {
  return bus.publish({.type = e.type,
                      .source = e.source,
                      .data = e.data,
                      .metadata = e.metadata,
                      .origin = EventOrigin::replayed,
                      .timestamp_ns = e.timestamp_ns,
                      .event_id = e.event_id});
}

// Pages forward over [start, end] with XRANGE and exclusive starts,
// keeping the next page requested while the caller works on the current one
// (Redis prepares it meanwhile). One thread at a time.
class Pager {
 public:
  // `ahead`: ask for the next page as soon as this one arrives (a replay
  // reads everything); without it a page is asked for only when wanted (a
  // read that may stop early leaves no page it did not need).
  Pager(SyncClient& client, std::string stream, std::string start, std::string end, PageSizer sizer, bool ahead)
      : client_(client),
        stream_(std::move(stream)),
        start_(std::move(start)),
        end_(std::move(end)),
        sizer_(sizer),
        ahead_(ahead) {}
  Pager(const Pager&) = delete;
  Pager& operator=(const Pager&) = delete;
  ~Pager() { drain(); }

  // The next page, or null after the last one. Throws RedisError.
  ReplyPtr next() {
    ReplyPtr r;
    if (!started_) {
      started_ = true;
      asked_ = sizer_.first();
      r = client_.command({"XRANGE", stream_, start_, end_, "COUNT", std::to_string(asked_)});
    } else if (requested_) {
      requested_ = false;
      r = client_.get_reply();
    } else if (wanted_) {
      wanted_ = false;
      r = client_.command({"XRANGE", stream_, start_, end_, "COUNT", std::to_string(asked_)});
    } else {
      return nullptr;
    }
    expect_array(r, "XRANGE");
    // A full page means there may be more.
    if (r->elements == asked_) {
      start_.assign("(").append(entry_id(r->element[r->elements - 1]));
      asked_ = sizer_.after(r.get(), asked_);
      if (ahead_) {
        client_.append({"XRANGE", stream_, start_, end_, "COUNT", std::to_string(asked_)});
        requested_ = true;
      } else {
        wanted_ = true;
      }
    }
    return r;
  }

  [[nodiscard]] bool more() const noexcept { return !started_ || requested_ || wanted_; }

  // Reads and drops the reply still owed, so the connection's next command
  // gets its own reply. An I/O error here resets the connection instead.
  void drain() noexcept {
    if (!requested_) return;
    requested_ = false;
    try {
      (void)client_.get_reply();
    } catch (...) {
    }
  }

 private:
  SyncClient& client_;
  const std::string stream_;
  std::string start_;
  const std::string end_;
  const PageSizer sizer_;
  std::size_t asked_ = 0;  // COUNT of the page last asked for
  const bool ahead_;
  bool started_ = false;
  bool requested_ = false;  // the next page is asked for; its reply is owed
  bool wanted_ = false;     // the next page is to be asked for (not ahead)
};

// The pages of a Pager, read on a thread of its own when there is more than
// one: that thread waits for Redis and parses replies (hiredis) while the
// caller decodes the previous page, and it also frees the pages the caller
// is done with, so hiredis's allocations stay with the thread that made
// them. Pages come out in stream order; an error of the reading thread is
// rethrown by next() after the pages read before it. Destruction stops the
// reader and leaves the connection in step. The connection belongs to the
// reading thread until then.
class PageSource {
 public:
  PageSource(SyncClient& client, std::string stream, std::string start, std::string end, PageSizer sizer,
             bool read_ahead)
      : pager_(client, std::move(stream), std::move(start), std::move(end), sizer, read_ahead) {
    first_ = pager_.next();
    if (read_ahead && pager_.more()) reader_ = std::thread([this] { read(); });
  }
  PageSource(const PageSource&) = delete;
  PageSource& operator=(const PageSource&) = delete;
  ~PageSource() {
    if (reader_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        stopping_ = true;
      }
      changed_.notify_all();
      reader_.join();
    }
    // ~Pager drains the reply still owed.
  }

  // The next page, valid until the following call; null after the last one.
  const redisReply* next() {
    if (first_) {
      current_ = std::move(first_);
      return current_.get();
    }
    if (!reader_.joinable()) {
      current_ = pager_.next();
      return current_.get();
    }
    std::unique_lock lock(mutex_);
    if (current_) spent_.push_back(std::move(current_));
    changed_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      return nullptr;
    }
    current_ = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    changed_.notify_all();
    return current_.get();
  }

 private:
  // Pages parsed but not yet taken: enough to keep both threads busy,
  // few enough to bound memory at a handful of pages.
  static constexpr std::size_t kPagesAhead = 2;

  void read() noexcept {
    std::exception_ptr error;
    std::deque<ReplyPtr> spent;
    try {
      while (ReplyPtr r = pager_.next()) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return ready_.size() < kPagesAhead || stopping_; });
        if (stopping_) break;
        ready_.push_back(std::move(r));
        spent.swap(spent_);
        lock.unlock();
        changed_.notify_all();
        spent.clear();
      }
    } catch (...) {
      error = std::current_exception();
    }
    pager_.drain();
    {
      std::lock_guard lock(mutex_);
      error_ = error;
      done_ = true;
    }
    changed_.notify_all();
  }

  Pager pager_;
  ReplyPtr first_;
  ReplyPtr current_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ReplyPtr> ready_;
  std::deque<ReplyPtr> spent_;  // taken and done with: freed by the reader
  bool stopping_ = false;
  bool done_ = false;
  std::exception_ptr error_;
};

}  // namespace

EventStore::EventStore(EventStoreOptions options) : options_(std::move(options)) {
  if (options_.page_size == 0) throw ConfigError("event store: page size must be positive");
  if (options_.partitioning != nullptr && options_.partitioning->count() > 1) {
    for (const std::string& stream : options_.partitioning->streams()) {
      EventStoreOptions o = options_;
      o.partitioning = nullptr;
      o.stream = stream;
      parts_.push_back(std::make_unique<EventStore>(std::move(o)));
    }
    options_.stream = options_.partitioning->base_stream();
    return;
  }
  if (options_.partitioning != nullptr) options_.stream = options_.partitioning->stream(0);
  client_.emplace(options_.url, options_.timeout, options_.stream);
}

std::uint64_t EventStore::skipped() const noexcept {
  std::uint64_t n = skips_.total();
  for (const auto& p : parts_) n += p->skipped();
  return n;
}

template <typename Visit>
void EventStore::scan_forward(std::string start, const std::string& end, std::size_t first_count, Visit&& visit,
                              ReplayProgress* progress, const Progress& report, bool read_ahead) {
  PageSource pages(*client_, options_.stream, std::move(start), end, sizer(first_count), read_ahead);
  while (const redisReply* r = pages.next()) {
    bool stop = false;
    std::size_t i = 0;
    while (i < r->elements && !stop) stop = !visit(r->element[i++]);
    if (progress != nullptr && i > 0) {
      progress->scanned += i;
      progress->last_id.assign(entry_id(r->element[i - 1]));
    }
    if (progress != nullptr && report) report(*progress);
    if (stop) return;
  }
}

PageSizer EventStore::sizer(std::size_t first_count) const noexcept {
  return {.first_count = first_count, .max_count = options_.page_size, .max_bytes = options_.max_page_bytes};
}

std::vector<StoredEvent> EventStore::get_events(EventTypeSet types, std::optional<TimestampNs> start_time,
                                                std::optional<TimestampNs> end_time, std::size_t limit,
                                                bool* truncated) {
  if (!parts_.empty()) return merged_events(types, start_time, end_time, limit, truncated);
  std::vector<StoredEvent> out;
  if (truncated != nullptr) *truncated = false;
  if (limit == 0) return out;
  const std::string end = end_time ? end_id_for(*end_time) : std::string("+");
  // A filter that matches little would otherwise read the whole stream.
  std::size_t scanned = 0;
  auto bounded = [&] {
    if (++scanned < options_.max_scan) return false;
    if (truncated != nullptr) *truncated = true;
    return true;
  };
  // Pages start a little past `limit`: a filter usually matches some.
  const std::size_t first = std::max<std::size_t>(limit + limit / 2, 2);
  std::lock_guard lock(mutex_);
  if (start_time) {
    scan_forward(start_id_for(*start_time), end, first,
                 [&](const redisReply* entry) {
                   auto decoded = decode_entry(entry, skips_);
                   if (decoded && types.matches(decoded->event.type)) out.push_back(std::move(*decoded));
                   return out.size() < limit && !bounded();
                 },
                 nullptr, {}, false);
    return out;
  }
  // The most recent `limit` matches: page backwards, then put them in order.
  const PageSizer sizes = sizer(first);
  std::size_t asked = sizes.first();
  std::string upper = end;
  bool stop = false;
  while (!stop) {
    ReplyPtr r = client_->command({"XREVRANGE", options_.stream, upper, "-", "COUNT", std::to_string(asked)});
    expect_array(r, "XREVRANGE");
    for (std::size_t i = 0; i < r->elements && !stop; ++i) {
      const redisReply* entry = r->element[i];
      const std::string_view id = entry_id(entry);
      if (!id.empty()) upper.assign("(").append(id);
      auto decoded = decode_entry(entry, skips_);
      if (decoded && types.matches(decoded->event.type)) out.push_back(std::move(*decoded));
      stop = out.size() >= limit || bounded();
    }
    if (r->elements < asked) break;
    asked = sizes.after(r.get(), asked);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

EventPage EventStore::read_after(StreamId after, EventTypeSet types, std::size_t limit, std::size_t max_scan) {
  if (!parts_.empty()) return merged_after(after, types, limit, max_scan);
  EventPage page;
  if (limit == 0 || max_scan == 0) {
    page.more = true;
    page.last = after;
    return page;
  }
  std::size_t scanned = 0;
  std::lock_guard lock(mutex_);
  scan_forward("(" + after.to_string(), "+", std::min(max_scan, std::max<std::size_t>(limit + limit / 2, 2)),
               [&](const redisReply* entry) {
                 ++scanned;
                 if (const auto id = StreamId::parse(entry_id(entry))) page.last = id;
                 auto decoded = decode_entry(entry, skips_);
                 if (decoded && types.matches(decoded->event.type)) page.events.push_back(std::move(*decoded));
                 if (page.events.size() >= limit || scanned >= max_scan) {
                   page.more = true;
                   return false;
                 }
                 return true;
               },
               nullptr, {}, false);
  return page;
}

std::uint64_t EventStore::replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                                 std::optional<TimestampNs> end_time, const Handler& handler,
                                 const Progress& progress) {
  if (!parts_.empty()) return merged_replay(types, start_time, end_time, handler, progress);
  ReplayProgress p;
  std::lock_guard lock(mutex_);
  scan_forward(start_time ? start_id_for(*start_time) : std::string("-"),
               end_time ? end_id_for(*end_time) : std::string("+"), options_.page_size,
               [&](const redisReply* entry) {
                 const auto decoded = decode_entry(entry, skips_);
                 if (decoded && types.matches(decoded->event.type)) {
                   handler(*decoded);
                   ++p.replayed;
                 }
                 return true;
               },
               &p, progress, true);
  return p.replayed;
}

std::uint64_t EventStore::replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                                 std::optional<TimestampNs> end_time, Bus& bus, const Progress& progress) {
  if (!parts_.empty()) {
    // Merged first, then published in that order, as the one stream would be.
    std::uint64_t published = 0;
    bool closed = false;
    merged_replay(
        types, start_time, end_time,
        [&](const StoredEvent& stored) {
          if (closed) return;
          const PublishStatus s = publish_replayed(bus, stored.event);
          if (s == PublishStatus::closed) closed = true;
          if (s == PublishStatus::ok) ++published;
        },
        progress);
    return published;
  }
  ReplayProgress p;
  std::lock_guard lock(mutex_);
  // Decoded in place and published straight from the decoder's buffers: the
  // event's bytes are copied once, into the ring.
  EventFields e;
  scan_forward(start_time ? start_id_for(*start_time) : std::string("-"),
               end_time ? end_id_for(*end_time) : std::string("+"), options_.page_size,
               [&](const redisReply* entry) {
                 if (!decode_entry_view(entry, skips_, e) || !types.matches(e.type)) return true;
                 const PublishStatus s = publish_replayed(bus, e);
                 if (s == PublishStatus::closed) return false;
                 // too_large / invalid: the stream holds what this bus cannot
                 // carry; it is skipped, not counted as replayed.
                 if (s == PublishStatus::ok) ++p.replayed;
                 return true;
               },
               &p, progress, true);
  return p.replayed;
}

StreamId EventStore::last_id() {
  if (!parts_.empty()) {
    StreamId last;
    for (auto& p : parts_) last = std::max(last, p->last_id());
    return last;
  }
  std::lock_guard lock(mutex_);
  ReplyPtr r = client_->command({"XREVRANGE", options_.stream, "+", "-", "COUNT", "1"});
  expect_array(r, "XREVRANGE");
  if (r->elements == 0) return StreamId{};
  return StreamId::parse(entry_id(r->element[0])).value_or(StreamId{});
}

std::vector<StreamId> EventStore::last_ids() {
  if (parts_.empty()) return {last_id()};
  std::vector<StreamId> out;
  out.reserve(parts_.size());
  for (auto& p : parts_) out.push_back(p->last_id());
  return out;
}

EventPage EventStore::read_partition_after(std::size_t partition, StreamId after, EventTypeSet types,
                                           std::size_t limit, std::size_t max_scan) {
  if (partition >= partitions()) {
    throw std::out_of_range("event store: partition " + std::to_string(partition) + " of " +
                            std::to_string(partitions()));
  }
  if (parts_.empty()) return read_after(after, types, limit, max_scan);
  return parts_[partition]->read_after(after, types, limit, max_scan);
}

std::uint64_t EventStore::length() {
  if (!parts_.empty()) {
    std::uint64_t n = 0;
    for (auto& p : parts_) n += p->length();
    return n;
  }
  std::lock_guard lock(mutex_);
  ReplyPtr r = client_->command({"XLEN", options_.stream});
  if (r->type != REDIS_REPLY_INTEGER) {
    throw RedisError("XLEN failed" + (r->type == REDIS_REPLY_ERROR ? ": " + std::string(r->str, r->len) : ""));
  }
  return static_cast<std::uint64_t>(std::max<long long>(r->integer, 0));
}

StreamStats EventStore::stats() {
  if (!parts_.empty()) return merged_stats();
  StreamStats s;
  std::lock_guard lock(mutex_);
  ReplyPtr info = client_->command({"XINFO", "STREAM", options_.stream});
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
  ReplyPtr groups = client_->command({"XINFO", "GROUPS", options_.stream});
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

std::vector<ClusterNode> EventStore::cluster_nodes() {
  if (!options_.url.cluster) return {};
  if (!parts_.empty()) return parts_.front()->cluster_nodes();
  std::lock_guard lock(mutex_);
  ReplyPtr r = client_->command({"CLUSTER", "NODES"});
  if (r->type == REDIS_REPLY_ERROR) throw RedisError("CLUSTER NODES failed: " + std::string(r->str, r->len));
  if (r->type != REDIS_REPLY_STRING) throw RedisError("CLUSTER NODES: unexpected reply");
  // <id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
  std::vector<ClusterNode> out;
  std::string_view text(r->str, r->len);
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    std::vector<std::string_view> f;
    while (!line.empty()) {
      const auto sp = line.find(' ');
      if (sp != 0) f.push_back(line.substr(0, sp));
      if (sp == std::string_view::npos) break;
      line.remove_prefix(sp + 1);
    }
    if (f.size() < 8) continue;
    ClusterNode n;
    n.id = std::string(f[0]);
    const std::string_view addr = f[1].substr(0, f[1].find('@'));
    n.node = "redis://" + std::string(addr);
    const std::string_view flags = f[2];
    n.role = flags.find("master") != std::string_view::npos ? "master" : "replica";
    n.failing = flags.find("fail") != std::string_view::npos;  // fail and fail?
    n.master_id = f[3] == "-" ? std::string() : std::string(f[3]);
    n.connected = f[7] == "connected";
    for (std::size_t i = 8; i < f.size(); ++i) {
      const std::string_view range = f[i];
      if (range.starts_with("[")) continue;  // a slot being migrated or imported
      const auto dash = range.find('-');
      const long first = std::strtol(std::string(range.substr(0, dash)).c_str(), nullptr, 10);
      const long last = dash == std::string_view::npos
                            ? first
                            : std::strtol(std::string(range.substr(dash + 1)).c_str(), nullptr, 10);
      if (last >= first) n.slots += static_cast<std::uint64_t>(last - first + 1);
    }
    out.push_back(std::move(n));
  }
  std::sort(out.begin(), out.end(), [](const ClusterNode& a, const ClusterNode& b) { return a.node < b.node; });
  return out;
}

void EventStore::ensure_group(const std::string& group, const std::string& start_id) {
  if (!parts_.empty()) {
    for (auto& p : parts_) p->ensure_group(group, start_id);
    return;
  }
  std::lock_guard lock(mutex_);
  ReplyPtr r = client_->command({"XGROUP", "CREATE", options_.stream, group, start_id, "MKSTREAM"});
  if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).rfind("BUSYGROUP", 0) != 0) {
    throw RedisError("XGROUP CREATE failed: " + std::string(r->str, r->len));
  }
}

// ---- partitioned: every read merged by stream id ---------------------------------

namespace {

StreamId id_of(const StoredEvent& e) noexcept { return StreamId::parse(e.id).value_or(StreamId{}); }

// Appends `parts` (each in stream order) to `out` merged by id; equal ids
// keep the lower partition first (a stable sort over the concatenation).
void merge_into(std::vector<std::vector<StoredEvent>>& parts, std::vector<StoredEvent>& out) {
  std::vector<std::pair<StreamId, StoredEvent>> all;
  for (auto& part : parts) {
    for (auto& e : part) all.emplace_back(id_of(e), std::move(e));
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.reserve(out.size() + all.size());
  for (auto& [id, e] : all) out.push_back(std::move(e));
}

}  // namespace

std::vector<StoredEvent> EventStore::merged_events(EventTypeSet types, std::optional<TimestampNs> start_time,
                                                   std::optional<TimestampNs> end_time, std::size_t limit,
                                                   bool* truncated) {
  if (truncated != nullptr) *truncated = false;
  // Each partition's first (or last) `limit` matches hold the merged ones.
  std::vector<std::vector<StoredEvent>> parts;
  for (auto& p : parts_) {
    bool cut = false;
    parts.push_back(p->get_events(types, start_time, end_time, limit, &cut));
    if (cut && truncated != nullptr) *truncated = true;
  }
  std::vector<StoredEvent> out;
  merge_into(parts, out);
  if (out.size() > limit) {
    if (start_time) {
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(limit), out.end());
    } else {
      out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
    }
  }
  return out;
}

EventPage EventStore::merged_after(StreamId after, EventTypeSet types, std::size_t limit, std::size_t max_scan) {
  EventPage page;
  std::vector<std::vector<StoredEvent>> parts;
  // A partition that stopped at a bound has been read only up to its last
  // entry: nothing merged may go past the lowest such point, or the next
  // page (after the cursor) would skip that partition's entries below it.
  std::optional<StreamId> bound;
  std::optional<StreamId> furthest;
  for (auto& p : parts_) {
    EventPage part = p->read_after(after, types, limit, max_scan);
    if (part.more && part.last) bound = bound ? std::min(*bound, *part.last) : *part.last;
    if (part.last) furthest = furthest ? std::max(*furthest, *part.last) : *part.last;
    parts.push_back(std::move(part.events));
  }
  std::vector<StoredEvent> merged;
  merge_into(parts, merged);
  std::size_t take = 0;
  while (take < merged.size() && (!bound || id_of(merged[take]) <= *bound) && take < limit) ++take;
  // Equal ids in two partitions go out together: the cursor is exclusive.
  while (take > 0 && take < merged.size() && id_of(merged[take]) == id_of(merged[take - 1])) ++take;
  const bool cut = take < merged.size();
  merged.resize(take);
  page.events = std::move(merged);
  if (cut) {
    page.last = id_of(page.events.back());
    page.more = true;
  } else if (bound) {
    page.last = bound;
    page.more = true;
  } else {
    page.last = furthest;
    page.more = false;
  }
  if (!page.last) page.last = after;
  return page;
}

std::uint64_t EventStore::merged_replay(EventTypeSet types, std::optional<TimestampNs> start_time,
                                        std::optional<TimestampNs> end_time, const Handler& handler,
                                        const Progress& progress) {
  // A k-way merge over each partition's pages, one page per partition in memory.
  struct Cursor {
    EventPage page;
    std::size_t next = 0;
    StreamId after;
    bool exhausted = false;  // the last page has been read
    bool done = false;       // ... and served
  };
  StreamId start{};
  if (start_time) {
    const StreamId first = StreamId::parse(start_id_for(*start_time)).value_or(StreamId{});
    // Exclusive reads: start just below the first id of that millisecond.
    start = first.ms == 0 ? StreamId{} : StreamId{first.ms - 1, ~std::uint64_t{0}};
  }
  const std::optional<StreamId> end = end_time ? StreamId::parse(end_id_for(*end_time)) : std::nullopt;
  const std::size_t page = options_.page_size;
  std::vector<Cursor> cursors(parts_.size());
  for (auto& c : cursors) c.after = start;
  auto refill = [&](std::size_t i) {
    Cursor& c = cursors[i];
    while (!c.done && c.next == c.page.events.size()) {
      if (c.exhausted) {
        c.done = true;
        break;
      }
      // A page may hold no match yet say there is more (the filter matched
      // nothing within one page's scan): read on.
      c.page = parts_[i]->read_after(c.after, types, page, page);
      c.next = 0;
      if (c.page.last) c.after = *c.page.last;
      c.exhausted = !c.page.more;
    }
  };
  ReplayProgress p;
  for (;;) {
    std::optional<std::size_t> best;
    StreamId best_id;
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      refill(i);
      Cursor& c = cursors[i];
      if (c.done) continue;
      const StreamId id = id_of(c.page.events[c.next]);
      if (end && id > *end) {
        c.done = true;
        c.page.events.clear();
        c.next = 0;
        continue;
      }
      if (!best || id < best_id) {
        best = i;
        best_id = id;
      }
    }
    if (!best) break;
    Cursor& c = cursors[*best];
    const StoredEvent& e = c.page.events[c.next++];
    handler(e);
    ++p.replayed;
    ++p.scanned;
    p.last_id = e.id;
    if (progress && p.replayed % page == 0) progress(p);
  }
  if (progress) progress(p);
  return p.replayed;
}

StreamStats EventStore::merged_stats() {
  StreamStats out;
  std::vector<GroupStats> groups;
  for (auto& part : parts_) {
    StreamStats s = part->stats();
    if (!s.exists) continue;
    out.exists = true;
    out.length += s.length;
    auto id = [](const std::optional<RawEntry>& e) { return StreamId::parse(e ? e->id : "").value_or(StreamId{}); };
    if (s.first_entry && (!out.first_entry || id(s.first_entry) < id(out.first_entry))) out.first_entry = s.first_entry;
    if (s.last_entry && (!out.last_entry || id(out.last_entry) < id(s.last_entry))) out.last_entry = s.last_entry;
    if (StreamId::parse(s.last_generated_id).value_or(StreamId{}) >
        StreamId::parse(out.last_generated_id).value_or(StreamId{})) {
      out.last_generated_id = s.last_generated_id;
    }
    for (GroupStats& g : s.groups) {
      auto it = std::find_if(out.groups.begin(), out.groups.end(), [&](const GroupStats& x) { return x.name == g.name; });
      if (it == out.groups.end()) {
        out.groups.push_back(std::move(g));
        continue;
      }
      // The same consumers read every partition; pending and lag add up; the
      // group has delivered everything up to the lowest partition's point.
      it->consumers = std::max(it->consumers, g.consumers);
      it->pending += g.pending;
      if (StreamId::parse(g.last_delivered_id).value_or(StreamId{}) <
          StreamId::parse(it->last_delivered_id).value_or(StreamId{})) {
        it->last_delivered_id = g.last_delivered_id;
      }
      it->lag = it->lag && g.lag ? std::optional<std::uint64_t>(*it->lag + *g.lag) : std::nullopt;
    }
  }
  return out;
}

}  // namespace tradpal::redis
