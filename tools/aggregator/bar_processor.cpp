#include "tools/aggregator/bar_processor.h"

#include <hiredis/hiredis.h>
#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <string_view>
#include <thread>

#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/uuid.h"
#include "tools/common/log_line.h"

namespace tradpal::aggregator {
namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(200);

void append_number(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

std::string iso(TimestampNs t) { return format_iso_timestamp(t); }

void log_line(const std::string& line) { tools::log_line("tradpal-aggregator", line); }

// A key written in one MULTI with the bars stream: "{<bars>}:<suffix>". On a
// cluster it must share the stream's slot, so a bars name with a hash tag of
// its own ("{md}.bars") lends that tag ("{md}:<suffix>"): "{{md}.bars}:..."
// would hash "{md" to another slot and fail every commit with CROSSSLOT.
// On one Redis the key stays as it always was, so a restart finds it.
std::string beside_bars(const AggregatorConfig& config, std::string_view suffix) {
  const std::string_view tag = config.redis_url.cluster ? redis::hash_tag(config.bars) : config.bars;
  return "{" + std::string(tag) + "}:" + std::string(suffix);
}

}  // namespace

BarProcessor::BarProcessor(AggregatorConfig config)
    : config_(std::move(config)),
      partitioning_(config_.source, {.count = config_.partitions}),
      checkpoint_key_(beside_bars(config_, "checkpoint")),
      quarantine_stream_(beside_bars(config_, "quarantine")) {
  if (!config_.schemas_dir.empty()) {
    try {
      schemas_ = std::make_unique<schema::SchemaSet>(schema::SchemaSet::load_directory(config_.schemas_dir));
    } catch (const std::exception& e) {
      throw AggregatorConfigError(std::string("--schemas: ") + e.what());
    }
  }
  processing::BarOptions options;
  options.intervals.clear();
  for (const Interval& iv : config_.intervals) options.intervals.push_back(iv.length);
  options.allowed_lateness = config_.lateness;
  aggregator_ = std::make_unique<processing::BarAggregator>(
      options, [this](const processing::Bar& bar) { pending_.push_back(bar); });
  const auto timeout = std::chrono::milliseconds(2000);
  for (std::size_t i = 0; i < partitioning_.count(); ++i) {
    readers_.push_back(std::make_unique<redis::SyncClient>(config_.redis_url, timeout, partitioning_.stream(i)));
  }
  writer_ = std::make_unique<redis::SyncClient>(config_.redis_url, timeout, config_.bars);
  restore();
}

void BarProcessor::restore() {
  redis::ReplyPtr r = writer_->command({"GET", checkpoint_key_});
  // Whatever was in memory is dropped: the checkpoint in Redis is the truth.
  pending_.clear();
  quarantined_.clear();
  dirty_ = false;
  cursor_.assign(partitioning_.count(), StreamId{});
  if (r->type == REDIS_REPLY_NIL) {
    aggregator_->restore(processing::BarAggregator(aggregator_->options(), {}).checkpoint());
    log_line("no checkpoint at " + checkpoint_key_ + ": reading " + config_.source + " from its beginning");
    return;
  }
  if (r->type != REDIS_REPLY_STRING) throw redis::RedisError("GET " + checkpoint_key_ + ": not a string");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view cursor_text;
  simdjson::dom::element state;
  if (parser.parse(r->str, r->len).get(root) != simdjson::SUCCESS || root["cursor"].get(cursor_text) ||
      root["state"].get(state)) {
    throw redis::RedisError(checkpoint_key_ + " is not an aggregator checkpoint");
  }
  auto cursor = parse_stream_cursor(cursor_text);
  if (!cursor || cursor->size() != partitioning_.count()) {
    throw redis::RedisError(checkpoint_key_ + " has a cursor of another partition count: " + std::string(cursor_text));
  }
  aggregator_->restore(simdjson::minify(state));
  cursor_ = std::move(*cursor);
  log_line("restored from " + checkpoint_key_ + " at " + format_stream_cursor(cursor_));
}

bool BarProcessor::read_some(bool block) {
  bool any = false;
  // With one partition the read blocks until something comes (a stop is
  // seen within the block time); with several, each waits its share.
  const std::string block_ms = std::to_string(block ? std::max<std::size_t>(100 / partitioning_.count(), 1) : 0);
  const std::string count = std::to_string(config_.read_count);
  for (std::size_t p = 0; p < partitioning_.count(); ++p) {
    reading_partition_ = p;
    const std::string after = cursor_[p].to_string();
    redis::ReplyPtr r = readers_[p]->command(
        {"XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", partitioning_.stream(p), after});
    if (r->type == REDIS_REPLY_NIL) continue;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 2) {
      throw redis::RedisError("XREAD " + partitioning_.stream(p) + ": " +
                              (r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply"));
    }
    const redisReply* entries = r->element[0]->element[1];
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 1) continue;
      const auto id = StreamId::parse(std::string_view(entry->element[0]->str, entry->element[0]->len));
      if (!id) continue;
      cursor_[p] = *id;  // read, whatever it holds
      dirty_ = true;
      any = true;
      if (auto e = redis::decode_entry(entry, skips_)) take(*e);
    }
  }
  return any;
}

void BarProcessor::take(const redis::StoredEvent& e) {
  ++events_;
  if (e.event.type != EventType::market_data_update) return;
  if (schemas_ != nullptr) {
    if (const schema::Schema* s = schemas_->find(to_string(e.event.type))) {
      if (const schema::ValidationResult r = s->validate_json(e.event.data, schema_parser_); !r.ok()) {
        quarantine(e, "data fails the market_data_update schema: " + r.error().to_string());
        return;
      }
    }
  }
  std::string why;
  const auto tick = ticks_.read(e.event.data, e.event.timestamp_ns, &why);
  if (!tick) {
    quarantine(e, "not a market tick: " + why);
    return;
  }
  aggregator_->add(*tick);
}

void BarProcessor::quarantine(const redis::StoredEvent& e, std::string reason) {
  if (quarantined_total_ + quarantined_.size() == 0) log_line("quarantining " + e.id + ": " + reason);
  quarantined_.push_back({event_json(e.event), std::move(reason), e.id, reading_partition_});
}

std::string BarProcessor::bar_event(const processing::Bar& bar) const {
  std::string label;
  for (const Interval& iv : config_.intervals) {
    if (iv.length.count() == bar.interval_ns) label = iv.label;
  }
  std::string data = "{\"symbol\": ";
  append_quoted(data, bar.symbol);
  data += ", \"interval\": ";
  append_quoted(data, label);
  data += ", \"window_start\": \"" + iso(bar.start) + "\", \"window_end\": \"" + iso(bar.start + bar.interval_ns) + "\"";
  for (const auto& [key, v] : {std::pair{"open", bar.open}, {"high", bar.high}, {"low", bar.low},
                               {"close", bar.close}, {"volume", bar.volume}}) {
    data += ", \"";
    data += key;
    data += "\": ";
    append_number(data, v);
  }
  data += ", \"trades\": " + std::to_string(bar.trades) + "}";
  Event e;
  e.type = EventType::market_data_update;
  e.event_id = Uuid::generate_v4();
  e.timestamp_ns = bar.start + bar.interval_ns;
  e.source = "aggregator";
  e.data = std::move(data);
  e.metadata = "{\"aggregate\": \"ohlcv\"}";
  return event_json(e);
}

void BarProcessor::commit() {
  if (!dirty_ && pending_.empty() && quarantined_.empty()) return;
  std::string checkpoint = "{\"cursor\": \"" + format_stream_cursor(cursor_) + "\", \"state\": ";
  checkpoint += aggregator_->checkpoint();
  checkpoint += '}';
  std::vector<std::string> bars;
  bars.reserve(pending_.size());
  for (const processing::Bar& b : pending_) bars.push_back(bar_event(b));
  // On a cluster, a keyed command first brings the connection to the node
  // of the bars' slot (MOVED is followed there, not inside a pipeline).
  if (config_.redis_url.cluster) (void)writer_->checked({"EXISTS", checkpoint_key_});
  writer_->append({"MULTI"});
  for (const std::string& bar : bars) writer_->append({"XADD", config_.bars, "*", "event", bar});
  for (const Quarantined& q : quarantined_) {
    writer_->append({"XADD", quarantine_stream_, "*", "event", q.event, "reason", q.reason, "source_id", q.id,
                     "source_stream", partitioning_.stream(q.partition)});
  }
  writer_->append({"SET", checkpoint_key_, checkpoint});
  writer_->append({"EXEC"});
  redis::ReplyPtr last;
  std::string error;
  for (std::size_t i = 0; i < bars.size() + quarantined_.size() + 3; ++i) {
    last = writer_->get_reply();
    if (last->type == REDIS_REPLY_ERROR && error.empty()) error.assign(last->str, last->len);
  }
  if (last->type != REDIS_REPLY_ARRAY) {
    throw redis::RedisError("commit refused" + (error.empty() ? std::string() : ": " + error));
  }
  bars_written_ += bars.size();
  quarantined_total_ += quarantined_.size();
  quarantined_.clear();
  pending_.clear();
  dirty_ = false;
}

void BarProcessor::run(const std::atomic<bool>& stop) {
  auto last_commit = std::chrono::steady_clock::now();
  int failures = 0;
  bool restored = true;
  while (!stop.load(std::memory_order_relaxed)) {
    try {
      if (!restored) {
        restore();
        restored = true;
      }
      const bool any = read_some(true);
      const auto now = std::chrono::steady_clock::now();
      if (!pending_.empty() || (dirty_ && (now - last_commit >= config_.commit_interval || !any))) {
        commit();
        last_commit = now;
      }
      failures = 0;
    } catch (const redis::RedisError& e) {
      // The last commit may or may not have landed: start again from the
      // checkpoint Redis holds, once it answers.
      if (++failures > 50) throw;
      log_line(std::string("Redis: ") + e.what() + "; restoring from the checkpoint");
      std::this_thread::sleep_for(kRetryPause);
      restored = false;
    }
  }
  if (restored) commit();
  log_line("stopped: " + std::to_string(events_) + " events read, " + std::to_string(bars_written_) +
           " bars written, " + std::to_string(quarantined_total_) + " quarantined, at " + format_stream_cursor(cursor_));
}

}  // namespace tradpal::aggregator
