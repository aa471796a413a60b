#include "tools/router/route_processor.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/event_json.h"
#include "engine/event_type.h"
#include "processing/routing/metadata_tags.h"
#include "processing/routing/rule_error.h"
#include "tools/common/log_line.h"

namespace tradpal::router {
namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(200);
constexpr int kMaxFailures = 50;  // in a row, ~10 s of Redis away

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

bool RouteProcessor::read_partition(std::size_t p, bool block) {
  const std::string& stream = partitioning_.stream(p);
  const bool history = !history_done_[p];
  std::vector<std::string> args = {"XREADGROUP", "GROUP", config_.group, config_.consumer,
                                   "COUNT", std::to_string(config_.read_count)};
  if (block && !history) {
    args.push_back("BLOCK");
    args.push_back(std::to_string(std::max<std::size_t>(100 / partitioning_.count(), 1)));
  }
  args.insert(args.end(), {"STREAMS", stream, history ? "0" : ">"});
  redis::ReplyPtr r = readers_[p]->command(args);
  if (r->type == REDIS_REPLY_NIL) return false;
  if (r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).rfind("NOGROUP", 0) == 0) {
    // The stream (and its group) were deleted under us: make them again.
    ensure_groups();
    return false;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 2) {
    throw redis::RedisError("XREADGROUP " + stream + ": " + reply_text(r.get()));
  }
  const redisReply* entries = r->element[0]->element[1];
  if (history && entries->elements == 0) history_done_[p] = true;
  route(p, entries);
  return entries->elements > 0;
}

void RouteProcessor::claim_partition(std::size_t p) {
  const std::string& stream = partitioning_.stream(p);
  redis::ReplyPtr r = readers_[p]->command({"XAUTOCLAIM", stream, config_.group, config_.consumer,
                                            std::to_string(config_.claim_idle.count()), claim_cursor_[p], "COUNT",
                                            std::to_string(config_.read_count)});
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
    throw redis::RedisError("XAUTOCLAIM " + stream + ": " + reply_text(r.get()));
  }
  claim_cursor_[p] = reply_text(r->element[0]);
  const redisReply* entries = r->element[1];
  if (entries->elements > 0) {
    metrics_.claimed->Increment(static_cast<double>(entries->elements));
    log_line("took over " + std::to_string(entries->elements) + " entries of " + stream +
             " left pending by another router");
  }
  route(p, entries);
}

void RouteProcessor::route(std::size_t p, const redisReply* entries) {
  to_ack_.clear();
  routing::RuleMatcher& matcher = *loaded_.matcher;
  std::vector<TargetWriter*> touched;
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* entry = entries->element[i];
    const std::string_view id = redis::entry_id(entry);
    if (id.empty()) continue;
    to_ack_.emplace_back(id);
    metrics_.events_read->Increment();
    // A pending entry deleted from the stream comes back with no fields.
    if (entry->elements < 2 || entry->element[1]->type != REDIS_REPLY_ARRAY) continue;
    const std::optional<redis::StoredEvent> stored = redis::decode_entry(entry, skips_);
    if (!stored) {
      metrics_.skipped->Increment();
      continue;
    }
    const Event& ev = stored->event;
    const std::string event_id = ev.event_id.to_string();
    routing::RoutedEvent re;
    re.type = to_string(ev.type);
    re.source = ev.source;
    re.event_id = event_id;
    re.data = ev.data;
    re.metadata = ev.metadata;
    const auto matched = matcher.match(re);
    for (std::uint32_t m : matched) loaded_.matches[m]->Increment();
    if (matcher.targets().empty()) continue;
    std::string payload;
    if (matcher.tags().empty()) {
      payload = std::string(*redis::event_field(entry->element[1]));  // the bytes as they were written
    } else {
      Event copy = ev;
      copy.metadata = routing::tagged_metadata(ev.metadata, matcher.tags());
      payload = event_json(copy);
    }
    for (const std::string* target : matcher.targets()) {
      TargetWriter& w = writer(*target);
      w.add(event_id, payload);
      if (std::find(touched.begin(), touched.end(), &w) == touched.end()) touched.push_back(&w);
    }
  }
  try {
    for (TargetWriter* w : touched) {
      const TargetWriter::Written written = w->flush();
      metrics_.copies(w->target()).Increment(static_cast<double>(written.copies));
      if (written.duplicates > 0) metrics_.duplicates(w->target()).Increment(static_cast<double>(written.duplicates));
    }
  } catch (...) {
    // The batch stays unacknowledged: its copies not yet written are
    // dropped here and queued again when the entries are read again.
    for (TargetWriter* w : touched) w->clear();
    history_done_[p] = false;
    throw;
  }
  if (to_ack_.empty()) return;
  std::vector<std::string_view> ack = {"XACK", partitioning_.stream(p), config_.group};
  for (const std::string& id : to_ack_) ack.push_back(id);
  redis::ReplyPtr r = readers_[p]->command(ack);
  if (r->type != REDIS_REPLY_INTEGER) {
    history_done_[p] = false;
    throw redis::RedisError("XACK " + partitioning_.stream(p) + ": " + reply_text(r.get()));
  }
  metrics_.events_acked->Increment(static_cast<double>(r->integer));
}

void RouteProcessor::run(const std::atomic<bool>& stop, std::atomic<bool>& reload) {
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
      for (std::size_t p = 0; p < partitioning_.count(); ++p) any |= read_partition(p, !any);
      if (std::chrono::steady_clock::now() >= next_claim) {
        for (std::size_t p = 0; p < partitioning_.count(); ++p) claim_partition(p);
        next_claim = std::chrono::steady_clock::now() + claim_every;
      }
      failures = 0;
    } catch (const redis::RedisError& e) {
      if (++failures > kMaxFailures) throw;
      if (failures == 1) log_line(std::string("Redis: ") + e.what() + "; retrying");
      std::fill(history_done_.begin(), history_done_.end(), false);
      std::this_thread::sleep_for(kRetryPause);
    }
  }
  log_line("stopped: " + std::to_string(static_cast<std::uint64_t>(metrics_.events_acked->Value())) +
           " events acknowledged");
}

}  // namespace tradpal::router
