#include "tools/eventd/sse_hub.h"

#include <algorithm>
#include <array>

#include "adapters/http/json_writer.h"
#include "adapters/http/response.h"
#include "engine/event_json.h"
#include "tools/eventd/log.h"

namespace tradpal::eventd {
namespace {

// Live events a resuming client may hold; past that the queue is dropped
// and the gap reads on over it (Client::dropped). Pointers to shared frames,
// so the bound is on count, not bytes.
constexpr std::size_t kMaxQueued = 4096;
// One gap page: at most this many matching events, read from at most
// kGapScan entries, so a filter that matches nothing still costs a bounded
// read per job and other readers get their turn between pages.
constexpr std::size_t kGapEvents = 1000;
// The fewest a page asks for when a slow socket took less last time.
constexpr std::size_t kGapEventsMin = 16;
constexpr std::size_t kGapScan = 10000;
// How often parked gap reads look at their sockets again.
constexpr std::uint64_t kDrainCheckMs = 2;
// A gap page goes out in writes of at most this many bytes (one event more
// if a single one is larger), each only once the socket has taken the last:
// well below the stream's unsent limit (ServerConfig, 1 MiB by default).
constexpr std::size_t kGapChunkBytes = 256 * 1024;

}  // namespace

SseFramePtr encode_sse_frame(const EventFields& event, std::size_t partition, std::optional<StreamId> id,
                             StreamCursor cursor) {
  auto frame = std::make_shared<SseFrame>();
  frame->type = event.type;
  frame->partition = partition;
  frame->id = id;
  std::string json;
  append_event_json(json, event);
  const std::string id_line = cursor.empty() ? std::string() : format_stream_cursor(cursor);
  frame->text = http::format_sse_event(json, to_string(event.type), id_line);
  frame->body_at = id_line.empty() ? 0 : id_line.size() + 5;  // "id: " ... "\n"
  frame->cursor = std::move(cursor);
  return frame;
}

SseHub::SseHub(uv_loop_t* loop, Bus& replays, RedisReaders& readers, ServiceCounters& counters,
               std::size_t partitions, std::chrono::milliseconds heartbeat, std::chrono::milliseconds stall_timeout,
               Post post)
    : readers_(readers),
      counters_(counters),
      heartbeat_(heartbeat),
      stall_timeout_(stall_timeout),
      post_(std::move(post)),
      partitions_(partitions),
      tail_cursor_(partitions) {
  replayed_ = replays.subscribe({.mode = BackPressure::lossy});
  uv_timer_init(loop, &heartbeat_timer_);
  heartbeat_timer_.data = this;
  const auto every = static_cast<std::uint64_t>(std::max<std::int64_t>(heartbeat_.count(), 10));
  uv_timer_start(&heartbeat_timer_, &SseHub::on_heartbeat, every, every);
  uv_timer_init(loop, &drain_timer_);
  drain_timer_.data = this;
}

SseHub::~SseHub() = default;

void SseHub::close() noexcept {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&heartbeat_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  replayed_.close();
}

// ---- the tail's I/O thread ------------------------------------------------------

void SseHub::on_stream_entry(std::size_t partition, const redis::TailEntry& entry) noexcept {
  // With nobody listening there is nothing to encode: a client that comes
  // later starts live or reads its gap from Redis.
  if (client_count_.load(std::memory_order_acquire) == 0) return;
  try {
    StreamCursor cursor;
    {
      std::lock_guard lock(inbox_mutex_);
      if (tail_cursor_unknown_ && tail_position_) {
        // The tail found each stream's end itself: take its positions as
        // they become known, so no id line says "from the beginning".
        const auto known = tail_position_();
        tail_cursor_unknown_ = false;
        for (std::size_t i = 0; i < known.size() && i < partitions_; ++i) {
          if (known[i]) {
            tail_cursor_[i] = std::max(tail_cursor_[i], *known[i]);
          } else {
            tail_cursor_unknown_ = true;
          }
        }
      }
      tail_cursor_[partition] = std::max(tail_cursor_[partition], entry.id);
      cursor = tail_cursor_;
    }
    SseFramePtr frame = encode_sse_frame(entry.event, partition, entry.id, std::move(cursor));
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(frame));
  } catch (...) {
    // Out of memory: this event is missed by every client. Count it as slow.
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(nullptr);
  }
}

void SseHub::on_stream_batch() noexcept {
  std::lock_guard lock(inbox_mutex_);
  if (posted_ || inbox_.empty()) return;
  try {
    posted_ = post_([this] { drain_inbox(); });
  } catch (...) {
  }
}

// ---- loop thread ------------------------------------------------------------------

void SseHub::drain_inbox() {
  {
    std::lock_guard lock(inbox_mutex_);
    posted_ = false;
    draining_.swap(inbox_);
  }
  deliver(draining_);
  draining_.clear();
  sweep();
}

void SseHub::deliver(std::span<const SseFramePtr> frames) {
  for (auto& [id, c] : clients_) {
    Client& client = *c;
    if (client.gone) continue;
    if (!client.resuming) {
      write(client, frames);
      continue;
    }
    for (const SseFramePtr& frame : frames) {
      if (!frame) {
        ++client.missed;  // could not be encoded (out of memory)
      } else if (!client.types.matches(frame->type)) {
      } else if (client.queue.size() < kMaxQueued) {
        client.queue.push_back(frame);
      } else if (frame->id) {
        // The queue is full. What it holds and what follows is in Redis:
        // the gap reads on past it (another pass once this one ends).
        client.dropped += client.queue.size();
        client.queue.clear();
        client.queue.push_back(frame);
      } else {
        ++client.missed;  // republished by a replay: not in the stream
        ++counters_.stream_missed_slow;
      }
    }
  }
}

bool SseHub::tell_missed(Client& c) {
  if (c.missed == 0) return true;
  http::JsonWriter w;
  w.begin_object().key("missed").number(c.missed).key("total_missed").number(c.total_missed + c.missed).end_object();
  if (c.stream.send(w.str(), "missed") != http::StreamWrite::kQueued) return false;
  c.total_missed += c.missed;
  c.missed = 0;
  c.last_write = std::chrono::steady_clock::now();
  return true;
}

bool SseHub::catch_up(Client& c) {
  if (!c.last_sent || c.gone) return false;
  ++counters_.stream_catch_ups;
  // Resuming again: live events queue up while the gap is read, from the
  // first partition, once the socket has taken what it holds.
  c.resuming = true;
  c.dropped = 0;
  park_gap(c, 0, (*c.last_sent)[0], kGapEvents);
  return true;
}

void SseHub::send_error(Client& c, const std::string& detail) {
  http::JsonWriter w;
  w.begin_object().key("detail").string(detail).end_object();
  (void)c.stream.send(w.str(), "error");
}

void SseHub::go_live(Client& c) {
  // The id line names where this client starts (the stream's end when it
  // came, or its own resume cursor): a message without data, so a browser's
  // EventSource only records it as its Last-Event-ID, and a client that
  // disconnects before its first event resumes from there, losing nothing.
  std::string text = "retry: 1000\n";
  if (c.last_sent) text += "id: " + format_stream_cursor(*c.last_sent) + "\n";
  text += ": connected\n\n";
  (void)c.stream.write(text);
}

void SseHub::write(Client& c, std::span<const SseFramePtr> frames) {
  // One write for the whole burst: a syscall per client, not per event.
  batch_.clear();
  std::size_t count = 0;
  std::size_t replayed = 0;  // of them, without a stream id
  std::array<std::uint32_t, kEventTypeCount> per_type{};
  bool positioned = c.last_sent.has_value();
  if (positioned) scratch_ = *c.last_sent;
  for (const SseFramePtr& frame : frames) {
    if (!frame) {
      ++c.missed;
      continue;
    }
    if (!c.types.matches(frame->type)) continue;
    if (!frame->id) {
      batch_ += frame->text;  // replayed: no position
      ++replayed;
    } else {
      const std::size_t p = frame->partition;
      if (!positioned) {
        // Live without a known start: from the tail's position on.
        scratch_ = frame->cursor.empty() ? StreamCursor(partitions_) : frame->cursor;
        positioned = true;
      } else if (*frame->id <= scratch_[p]) {
        continue;  // sent already (the resume seam)
      }
      scratch_[p] = *frame->id;
      // The frame's cursor says the tail had passed every partition up to
      // it; all of that reached this client (sent, filtered out, or counted
      // missed), so its position takes the cursor's where it is behind.
      // Where it is not behind anywhere the shared text's id line is right
      // for it (always so for a live client); else the line is its own.
      bool shared = !frame->cursor.empty();
      if (shared) {
        for (std::size_t i = 0; i < partitions_; ++i) {
          scratch_[i] = std::max(scratch_[i], frame->cursor[i]);
          shared = shared && scratch_[i] == frame->cursor[i];
        }
      }
      if (shared) {
        batch_ += frame->text;
      } else {
        batch_ += "id: ";
        batch_ += format_stream_cursor(scratch_);
        batch_ += '\n';
        batch_.append(frame->text, frame->body_at);
      }
    }
    ++count;
    ++per_type[to_index(frame->type)];
  }
  if (count == 0) {
    (void)tell_missed(c);
    return;
  }
  const http::StreamWrite w = tell_missed(c) ? c.stream.write(batch_) : http::StreamWrite::kOverLimit;
  if (w != http::StreamWrite::kQueued) {
    if (w == http::StreamWrite::kOverLimit) {
      // A live burst goes to Redis' copy instead (only replayed events are
      // lost then). A gap chunk is written only to an empty output, so one
      // over the limit is an event too large for any stream: missed.
      if (!c.resuming && catch_up(c)) {
        c.missed += replayed;
        counters_.stream_missed_slow += replayed;
      } else {
        c.missed += count;
        counters_.stream_missed_slow += count;
      }
    }
    return;
  }
  if (positioned) c.last_sent = scratch_;
  c.last_write = std::chrono::steady_clock::now();
  for (std::size_t t = 0; t < kEventTypeCount; ++t) counters_.consumed[t] += per_type[t];
}

void SseHub::open(EventTypeSet types, std::optional<StreamCursor> resume_after, http::Responder responder) {
  auto c = std::make_unique<Client>();
  c->id = next_id_++;
  c->types = types;
  c->stream = responder.start_stream();
  if (!c->stream.open()) return;
  const std::uint64_t id = c->id;
  c->stream.on_close([this, id] {
    // May run inside a write: mark now, remove in sweep().
    if (const auto it = clients_.find(id); it != clients_.end()) it->second->gone = true;
  });
  c->last_write = std::chrono::steady_clock::now();
  ++counters_.stream_clients_total;
  c->resuming = true;  // until its start is fixed and its gap read
  c->last_sent = std::move(resume_after);
  if (c->last_sent) go_live(*c);
  // Nobody listened: the tail rests and must restart before anyone can
  // rely on it.
  const bool tail_resting = clients_.empty() || restarting_;
  Client& client = *c;
  clients_.emplace(id, std::move(c));
  client_count_.store(clients_.size(), std::memory_order_release);
  if (tail_resting) {
    waiting_start_.push_back(id);
    if (!restarting_) {
      restarting_ = true;
      readers_.run<StreamCursor>([](Reader& reader) { return reader.store().last_ids(); },
                                 [this](Outcome<StreamCursor> start) { tail_restarted(std::move(start)); });
    }
    return;
  }
  if (client.last_sent) {
    read_gaps_from(client, 0);
  } else {
    find_start(id);
  }
}

void SseHub::tail_restarted(Outcome<StreamCursor> start) {
  restarting_ = false;
  if (closed_) return;
  if (start.value && start.value->size() != partitions_) start = {std::nullopt, "Redis answered another partition count"};
  {
    // Entries from before the restart are discarded by the tail; what
    // follows moves on from here.
    std::lock_guard lock(inbox_mutex_);
    tail_cursor_ = start.value ? *start.value : StreamCursor(partitions_);
    tail_cursor_unknown_ = !start.value;
  }
  if (restart_tail_) restart_tail_(start.value ? *start.value : StreamCursor());
  std::vector<std::uint64_t> waiting;
  waiting.swap(waiting_start_);
  for (const std::uint64_t id : waiting) {
    const auto it = clients_.find(id);
    if (it == clients_.end() || it->second->gone) continue;
    Client& c = *it->second;
    if (c.last_sent) {
      read_gaps_from(c, 0);  // resuming: its gap reaches at least the tail's start
    } else if (start.value) {
      c.last_sent = *start.value;  // new: the tail delivers all after its start
      go_live(c);
      finish_resume(c);
    } else {
      live_without_start(c, start.error);
    }
  }
}

void SseHub::live_without_start(Client& c, const std::string& error) {
  // Live from now on, without a gap to read.
  go_live(c);
  send_error(c, "cannot read the stream's end from Redis: " + error);
  finish_resume(c);
}

void SseHub::find_start(std::uint64_t client_id) {
  readers_.run<StreamCursor>([](Reader& reader) { return reader.store().last_ids(); },
                             [this, client_id](Outcome<StreamCursor> start) {
                               const auto it = clients_.find(client_id);
                               if (it == clients_.end() || it->second->gone || closed_) return;
                               Client& c = *it->second;
                               if (!start.value || start.value->size() != partitions_) {
                                 live_without_start(c, start.value ? "another partition count" : start.error);
                                 return;
                               }
                               c.last_sent = std::move(*start.value);
                               go_live(c);
                               read_gaps_from(c, 0);
                             });
}

void SseHub::read_gaps_from(Client& c, std::size_t partition) {
  if (partition >= partitions_ || !c.last_sent) {
    finish_resume(c);
    return;
  }
  read_gap(c.id, partition, (*c.last_sent)[partition], kGapEvents);
}

void SseHub::read_gap(std::uint64_t client_id, std::size_t partition, StreamId after, std::size_t count) {
  const auto it = clients_.find(client_id);
  if (it == clients_.end()) return;
  const EventTypeSet types = it->second->types;
  readers_.run<redis::EventPage>(
      [partition, after, types, count](Reader& reader) {
        return reader.store().read_partition_after(partition, after, types, count, kGapScan);
      },
      [this, client_id, partition, after](Outcome<redis::EventPage> page) {
        gap_page(client_id, partition, after, std::move(page));
      });
}

void SseHub::gap_page(std::uint64_t client_id, std::size_t partition, StreamId after,
                      Outcome<redis::EventPage> page) {
  const auto it = clients_.find(client_id);
  if (it == clients_.end() || it->second->gone || closed_) return;
  Client& c = *it->second;
  if (!page.value) {
    send_error(c, "cannot read the gap from Redis: " + page.error);
    finish_resume(c);
    return;
  }
  std::vector<SseFramePtr> frames;
  frames.reserve(page.value->events.size());
  for (const redis::StoredEvent& e : page.value->events) {
    const EventFields f{e.event.type, e.event.event_id, e.event.timestamp_ns, e.event.source, e.event.data,
                        e.event.metadata};
    const std::optional<StreamId> id = StreamId::parse(e.id);
    // With one partition the id is the whole cursor, so the text can carry
    // it; with more, write() gives each event this client's own cursor.
    frames.push_back(encode_sse_frame(f, partition, id, partitions_ == 1 && id ? StreamCursor{*id} : StreamCursor{}));
  }
  // Written in chunks of at most kGapChunkBytes while the socket takes them;
  // where it holds output, the rest of the page is read again after the last
  // event written once the client has taken it. Only a chunk over the
  // stream's limit by itself (the output already empty) is counted missed,
  // as a live burst would be.
  StreamId resume_after = after;
  for (std::size_t i = 0; i < frames.size();) {
    if (c.stream.unsent_bytes() != 0) {
      // The next read asks for about twice what this one could write.
      park_gap(c, partition, resume_after, std::clamp<std::size_t>(2 * i, kGapEventsMin, kGapEvents));
      return;
    }
    std::size_t j = i;
    for (std::size_t bytes = 0; j < frames.size(); ++j) {
      const std::size_t size = frames[j] ? frames[j]->text.size() : 0;
      if (j > i && bytes + size > kGapChunkBytes) break;
      bytes += size;
    }
    write(c, std::span(frames.data() + i, j - i));
    for (std::size_t k = i; k < j; ++k) {
      if (frames[k] && frames[k]->id) resume_after = *frames[k]->id;
    }
    i = j;
  }
  // Read on while the partition has more and the pages have not yet
  // reached the live events this client holds from it.
  const auto first_live = std::find_if(c.queue.begin(), c.queue.end(), [partition](const SseFramePtr& f) {
    return f->id && f->partition == partition;
  });
  const bool reached_live =
      first_live != c.queue.end() && page.value->last && *page.value->last >= *(*first_live)->id;
  if (page.value->more && page.value->last && !reached_live) {
    if (c.stream.unsent_bytes() != 0) {
      park_gap(c, partition, *page.value->last, kGapEvents);
    } else {
      read_gap(client_id, partition, *page.value->last, kGapEvents);
    }
    return;
  }
  read_gaps_from(c, partition + 1);
}

void SseHub::park_gap(Client& c, std::size_t partition, StreamId after, std::size_t count) {
  c.parked = Client::ParkedGap{partition, after, count};
  if (!closed_ && uv_is_active(reinterpret_cast<uv_handle_t*>(&drain_timer_)) == 0) {
    uv_timer_start(&drain_timer_, &SseHub::on_drain_check, kDrainCheckMs, kDrainCheckMs);
  }
}

void SseHub::resume_parked() {
  bool waiting = false;
  std::vector<std::pair<std::uint64_t, Client::ParkedGap>> ready;
  for (auto& [id, c] : clients_) {
    if (!c->parked) continue;
    if (c->gone || !c->stream.open()) {
      c->parked.reset();
    } else if (c->stream.unsent_bytes() == 0) {
      ready.emplace_back(id, *c->parked);
      c->parked.reset();
    } else {
      waiting = true;
    }
  }
  if (!waiting) uv_timer_stop(&drain_timer_);
  for (const auto& [id, gap] : ready) read_gap(id, gap.partition, gap.after, gap.count);
}

void SseHub::on_drain_check(uv_timer_t* timer) noexcept {
  auto* self = static_cast<SseHub*>(timer->data);
  if (self->closed_) return;
  run_logged("stream gap pacing", [self] { self->resume_parked(); });
}

void SseHub::finish_resume(Client& c) {
  if (c.dropped != 0 && c.last_sent && !c.gone) {
    // Live events were dropped from the queue during this pass: read every
    // partition on from where its pages got.
    c.dropped = 0;
    read_gaps_from(c, 0);
    return;
  }
  // Live without a known start (Redis could not say where the stream
  // ended): nothing to read after, so what was dropped is missed.
  c.missed += c.dropped;
  counters_.stream_missed_slow += c.dropped;
  c.dropped = 0;
  c.resuming = false;
  const std::vector<SseFramePtr> queued(c.queue.begin(), c.queue.end());
  c.queue.clear();
  write(c, queued);
}

void SseHub::pump_replayed() {
  if (closed_) return;
  std::vector<SseFramePtr> frames;
  replayed_.poll(
      [&](const EventView& view, bool) {
        if (clients_.empty()) return;
        const EventFields f{view.type(), view.event_id(), view.timestamp_ns(), view.source(), view.data(),
                            view.metadata()};
        frames.push_back(encode_sse_frame(f, 0, std::nullopt, {}));
      },
      SIZE_MAX);
  if (!frames.empty()) deliver(frames);
  // Replayed events the ring overwrote before we got to them.
  const std::uint64_t lost = replayed_.lost_total();
  if (lost != replayed_lost_told_) {
    counters_.stream_missed_ring += lost - replayed_lost_told_;
    for (auto& [id, c] : clients_) c->missed += lost - replayed_lost_told_;
    replayed_lost_told_ = lost;
  }
  sweep();
}

void SseHub::heartbeat() {
  // Keeps the replay subscription current even when nobody replays.
  pump_replayed();
  const auto now = std::chrono::steady_clock::now();
  for (auto& [id, c] : clients_) {
    if (c->gone) continue;
    if (c->stream.stalled_for() >= stall_timeout_) {
      // Output has waited that long without the client taking any: it
      // reads nothing. Its connection goes; its slot is someone else's.
      ++counters_.stream_clients_stalled;
      c->gone = true;
      c->stream.abort();
      continue;
    }
    if (!tell_missed(*c)) continue;
    if (now - c->last_write >= heartbeat_) {
      if (c->stream.comment("heartbeat") == http::StreamWrite::kQueued) c->last_write = now;
    }
  }
  sweep();
}

void SseHub::on_heartbeat(uv_timer_t* timer) noexcept {
  auto* self = static_cast<SseHub*>(timer->data);
  run_logged("stream heartbeat", [self] { self->heartbeat(); });
}

void SseHub::sweep() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (it->second->gone || !it->second->stream.open()) {
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
  client_count_.store(clients_.size(), std::memory_order_release);
}

}  // namespace tradpal::eventd
