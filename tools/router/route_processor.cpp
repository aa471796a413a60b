#include "tools/router/route_processor.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <optional>
#include <chrono>
#include <thread>

#include "engine/event_json.h"
#include "engine/event_type.h"
#include "engine/json.h"
#include "processing/routing/metadata_tags.h"
#include "processing/routing/rule_error.h"
#include "tools/common/log_line.h"

namespace tradpal::router {
namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(200);
constexpr int kMaxFailures = 50;  // in a row, ~10 s of Redis away
constexpr std::size_t kBatchesPerDrain = 32;

void log_line(const std::string& text) { tools::log_line("tradpal-router", text); }

std::string reply_text(const redisReply* r) {
  if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
    return std::string(r->str, r->len);
  }
  return "unexpected reply";
}

}  // namespace

RouteProcessor::RouteProcessor(RouterConfig config, RouterMetrics& metrics)
    : config_(std::move(config)),
      metrics_(metrics),
      partitioning_(config_.source, {.count = config_.partitions}),
      history_done_(partitioning_.count(), false),
      claim_cursor_(partitioning_.count(), "0-0") {
  if (!config_.schemas_dir.empty()) {
    try {
      schemas_ = std::make_unique<schema::SchemaSet>(schema::SchemaSet::load_directory(config_.schemas_dir));
    } catch (const std::exception& e) {
      throw RouterConfigError(std::string("--schemas: ") + e.what());
    }
  }
  load_rules();
  for (std::size_t p = 0; p < partitioning_.count(); ++p) {
    readers_.push_back(std::make_unique<redis::SyncClient>(config_.redis_url, std::chrono::milliseconds(5000),
                                                           partitioning_.stream(p)));
  }
  ensure_groups();
}

void RouteProcessor::load_rules() {
  auto rules = std::make_unique<routing::RuleSet>(routing::RuleSet::load_file(config_.rules_file));
  for (const std::string& target : rules->targets()) {
    if (schemas_ != nullptr && target == config_.quarantine) {
      throw routing::RuleError("copy_to", "'" + target + "' is the quarantine stream", config_.rules_file);
    }
    for (std::size_t p = 0; p < partitioning_.count(); ++p) {
      if (target == partitioning_.stream(p)) {
        throw routing::RuleError("copy_to", "'" + target + "' is the stream the router reads: it would route its own copies",
                                 config_.rules_file);
      }
    }
  }
  Loaded next;
  next.matcher = std::make_unique<routing::RuleMatcher>(*rules);
  for (const routing::Rule& r : rules->rules()) next.matches.push_back(&metrics_.rule_matches(r.name));
  next.rules = std::move(rules);
  loaded_ = std::move(next);
  metrics_.rules_loaded->Set(static_cast<double>(loaded_.rules->size()));
}

void RouteProcessor::ensure_groups() {
  for (std::size_t p = 0; p < partitioning_.count(); ++p) {
    redis::ReplyPtr r = readers_[p]->command({"XGROUP", "CREATE", partitioning_.stream(p), config_.group,
                                              config_.from_start ? "0" : "$", "MKSTREAM"});
    if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).rfind("BUSYGROUP", 0) != 0) {
      throw redis::RedisError("XGROUP CREATE " + partitioning_.stream(p) + ": " + reply_text(r.get()));
    }
  }
}

TargetWriter& RouteProcessor::writer(const std::string& target) {
  auto it = writers_.find(target);
  if (it == writers_.end()) {
    it = writers_.emplace(target, std::make_unique<TargetWriter>(config_.redis_url, target, config_.dedup_ttl)).first;
  }
  return *it->second;
}

void RouteProcessor::send_read(std::size_t p, bool history, bool block) {
  const std::string count = std::to_string(config_.read_count);
  const std::string block_ms = std::to_string(std::max<std::size_t>(100 / partitioning_.count(), 1));
  std::vector<std::string_view> args = {"XREADGROUP", "GROUP", config_.group, config_.consumer, "COUNT", count};
  if (block) args.insert(args.end(), {"BLOCK", block_ms});
  args.insert(args.end(), {"STREAMS", partitioning_.stream(p), history ? "0" : ">"});
  readers_[p]->append(args);
  readers_[p]->flush();
}

bool RouteProcessor::drain_partition(std::size_t p, bool block) {
  const std::string& stream = partitioning_.stream(p);
  const bool history = !history_done_[p];
  std::optional<Batch> in_flight;
  bool any = false;
  std::size_t batches = 0;
  send_read(p, history, block && !history);
  for (;;) {
    Batch batch;
    batch.partition = p;
    batch.reply = readers_[p]->get_reply();
    const redisReply* r = batch.reply.get();
    if (r->type == REDIS_REPLY_NIL) break;
    if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).rfind("NOGROUP", 0) == 0) {
      // The stream (and its group) were deleted under us: make them again.
      if (in_flight) complete(*in_flight);
      ensure_groups();
      return any;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 2) {
      throw redis::RedisError("XREADGROUP " + stream + ": " + reply_text(r));
    }
    const redisReply* entries = r->element[0]->element[1];
    if (entries->elements == 0) {
      if (history) history_done_[p] = true;
      break;
    }
    any = true;
    prepare(batch, entries);
    if (in_flight) complete(*in_flight);
    // Pending entries are read again from "0" until acknowledged: those
    // are read one batch at a time. New ones: the next read goes out now,
    // ahead of this batch's copies, so its answer comes while Redis writes.
    // A stop, a reload or the takeover of other routers' entries waits at
    // most kBatchesPerDrain batches, however fast the source grows.
    const bool more = !history && entries->elements == config_.read_count && ++batches < kBatchesPerDrain &&
                      !stop_->load(std::memory_order_relaxed) && !reload_->load(std::memory_order_relaxed);
    if (more) send_read(p, false, false);
    send(batch);
    in_flight = std::move(batch);
    if (!more) break;
  }
  if (in_flight) complete(*in_flight);
  return any;
}

void RouteProcessor::claim_partition(std::size_t p) {
  const std::string& stream = partitioning_.stream(p);
  Batch batch;
  batch.partition = p;
  batch.reply = readers_[p]->command({"XAUTOCLAIM", stream, config_.group, config_.consumer,
                                      std::to_string(config_.claim_idle.count()), claim_cursor_[p], "COUNT",
                                      std::to_string(config_.read_count)});
  const redisReply* r = batch.reply.get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
    throw redis::RedisError("XAUTOCLAIM " + stream + ": " + reply_text(r));
  }
  claim_cursor_[p] = reply_text(r->element[0]);
  const redisReply* entries = r->element[1];
  if (entries->elements == 0) return;
  metrics_.claimed->Increment(static_cast<double>(entries->elements));
  log_line("took over " + std::to_string(entries->elements) + " entries of " + stream +
           " left pending by another router");
  prepare(batch, entries);
  send(batch);
  complete(batch);
}

void RouteProcessor::prepare(Batch& batch, const redisReply* entries) {
  routing::RuleMatcher& matcher = *loaded_.matcher;
  batch.ids.reserve(entries->elements);
  batch.event_ids.reserve(entries->elements);  // never grows past: views into it stay valid
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* entry = entries->element[i];
    const std::string_view id = redis::entry_id(entry);
    if (id.empty()) continue;
    batch.ids.push_back(id);
    metrics_.events_read->Increment();
    // A pending entry deleted from the stream comes back with no fields.
    if (entry->elements < 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) continue;
    EventFields ev;
    if (!redis::decode_entry_view(entry, skips_, ev)) {
      metrics_.skipped->Increment();
      continue;
    }
    std::array<char, 36>& event_id = batch.event_ids.emplace_back();
    ev.event_id.format(event_id.data());
    const std::string_view event_id_text(event_id.data(), event_id.size());
    if (schemas_ != nullptr && quarantined(batch, ev, event_id_text, id)) continue;
    const routing::RoutedEvent re{to_string(ev.type), ev.source, event_id_text, ev.data, ev.metadata};
    const auto matched = matcher.match(re);
    for (std::uint32_t m : matched) loaded_.matches[m]->Increment();
    if (matcher.targets().empty()) continue;
    std::string_view payload;
    if (matcher.tags().empty()) {
      payload = *redis::event_field(entry->element[1]);  // the bytes as they were written
    } else {
      Event copy = to_event(ev);
      copy.metadata = routing::tagged_metadata(ev.metadata, matcher.tags());
      payload = batch.tagged.emplace_back(event_json(copy));
    }
    for (const std::string* target : matcher.targets()) {
      TargetWriter& w = writer(*target);
      w.add(event_id_text, payload);
      if (std::find(batch.writers.begin(), batch.writers.end(), &w) == batch.writers.end()) {
        batch.writers.push_back(&w);
      }
    }
  }
}

bool RouteProcessor::quarantined(Batch& batch, const EventFields& ev, std::string_view event_id,
                                 std::string_view entry_id) {
  const schema::Schema* s = schemas_->find(to_string(ev.type));
  if (s == nullptr) return false;
  const schema::ValidationResult r = s->validate_json(ev.data, schema_parser_);
  if (r.ok()) return false;
  const std::string reason = "data fails the " + std::string(to_string(ev.type)) + " schema: " + r.error().to_string();
  std::string why = "{\"reason\": ";
  append_quoted(why, reason);
  why += ", \"source_stream\": ";
  append_quoted(why, partitioning_.stream(batch.partition));
  why += ", \"source_id\": ";
  append_quoted(why, entry_id);
  why += '}';
  const std::pair<std::string, std::string> tag{"quarantine", std::move(why)};
  const std::pair<std::string, std::string>* tags[] = {&tag};
  Event copy = to_event(ev);
  copy.metadata = routing::tagged_metadata(ev.metadata, tags);
  TargetWriter& w = writer(config_.quarantine);
  w.add(event_id, batch.tagged.emplace_back(event_json(copy)));
  if (std::find(batch.writers.begin(), batch.writers.end(), &w) == batch.writers.end()) batch.writers.push_back(&w);
  metrics_.quarantined->Increment();
  if (metrics_.quarantined->Value() == 1) log_line("quarantining " + std::string(entry_id) + ": " + reason);
  return true;
}

void RouteProcessor::send(Batch& batch) {
  for (TargetWriter* w : batch.writers) w->send();
}

void RouteProcessor::complete(Batch& batch) {
  for (TargetWriter* w : batch.writers) {
    const TargetWriter::Written written = w->receive();
    metrics_.copies(w->target()).Increment(static_cast<double>(written.copies));
    if (written.duplicates > 0) metrics_.duplicates(w->target()).Increment(static_cast<double>(written.duplicates));
  }
  batch.writers.clear();
  if (batch.ids.empty()) return;
  std::vector<std::string_view> ack = {"XACK", partitioning_.stream(batch.partition), config_.group};
  ack.insert(ack.end(), batch.ids.begin(), batch.ids.end());
  redis::ReplyPtr r = readers_[batch.partition]->command(ack);
  if (r->type != REDIS_REPLY_INTEGER) {
    throw redis::RedisError("XACK " + partitioning_.stream(batch.partition) + ": " + reply_text(r.get()));
  }
  metrics_.events_acked->Increment(static_cast<double>(r->integer));
  batch.ids.clear();
}

void RouteProcessor::abandon() noexcept {
  for (auto& [name, w] : writers_) w->clear();
  for (auto& reader : readers_) reader->reset();
  std::fill(history_done_.begin(), history_done_.end(), false);
}

void RouteProcessor::run(const std::atomic<bool>& stop, std::atomic<bool>& reload) {
  stop_ = &stop;
  reload_ = &reload;
  const auto claim_every = std::min<std::chrono::milliseconds>(config_.claim_idle / 2, std::chrono::seconds(1));
  auto next_claim = std::chrono::steady_clock::now() + claim_every;
  int failures = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (reload.exchange(false)) {
      try {
        load_rules();
        metrics_.reloads_ok->Increment();
        log_line("reloaded " + std::to_string(loaded_.rules->size()) + " rules from " + config_.rules_file);
      } catch (const routing::RuleError& e) {
        metrics_.reloads_refused->Increment();
        log_line(std::string("reload refused, the rules in force stay: ") + e.what());
      }
    }
    try {
      bool any = false;
      for (std::size_t p = 0; p < partitioning_.count(); ++p) any |= drain_partition(p, !any);
      if (std::chrono::steady_clock::now() >= next_claim) {
        for (std::size_t p = 0; p < partitioning_.count(); ++p) claim_partition(p);
        next_claim = std::chrono::steady_clock::now() + claim_every;
      }
      failures = 0;
    } catch (const redis::RedisError& e) {
      if (++failures > kMaxFailures) throw;
      if (failures == 1) log_line(std::string("Redis: ") + e.what() + "; retrying");
      abandon();
      std::this_thread::sleep_for(kRetryPause);
    }
  }
  log_line("stopped: " + std::to_string(static_cast<std::uint64_t>(metrics_.events_acked->Value())) +
           " events acknowledged");
}

}  // namespace tradpal::router
