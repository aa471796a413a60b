#include "adapters/redis/partitioned_stream_tail.h"

namespace tradpal::redis {

PartitionedStreamTail::PartitionedStreamTail(IoThread& io, std::shared_ptr<const Partitioning> partitioning,
                                             StreamTailOptions options)
    : PartitionedStreamTail(io, std::move(partitioning), std::move(options), {}) {}

PartitionedStreamTail::PartitionedStreamTail(IoThread& io, std::shared_ptr<const Partitioning> partitioning,
                                             StreamTailOptions options, const Cursor& cursor)
    : partitioning_(std::move(partitioning)) {
  if (partitioning_ == nullptr) throw ConfigError("partitioned tail: no partitioning");
  if (!cursor.empty() && cursor.size() != partitioning_->count()) {
    throw ConfigError("partitioned tail: a cursor of " + std::to_string(cursor.size()) + " positions for " +
                      std::to_string(partitioning_->count()) + " partitions");
  }
  const std::string name = options.connection.name == "redis" ? std::string("tail") : options.connection.name;
  for (std::size_t i = 0; i < partitioning_->count(); ++i) {
    StreamTailOptions o = options;
    o.stream = partitioning_->stream(i);
    if (!cursor.empty()) o.start = cursor[i] ? TailStart::after(*cursor[i]) : TailStart::latest();
    if (partitioning_->count() > 1) o.connection.name = name + "[" + std::to_string(i) + "]";
    tails_.push_back(std::make_unique<StreamTail>(io, std::move(o)));
  }
}

void PartitionedStreamTail::on_entry(Handler handler) {
  auto shared = std::make_shared<Handler>(std::move(handler));
  for (std::size_t i = 0; i < tails_.size(); ++i) {
    tails_[i]->on_entry([shared, i](const TailEntry& e) { (*shared)(i, e); });
  }
}

void PartitionedStreamTail::on_batch(StreamTail::BatchDone done) {
  auto shared = std::make_shared<StreamTail::BatchDone>(std::move(done));
  for (auto& t : tails_) t->on_batch([shared](std::size_t n) { (*shared)(n); });
}

void PartitionedStreamTail::set_interest(std::function<bool()> interested) {
  auto shared = std::make_shared<std::function<bool()>>(std::move(interested));
  for (auto& t : tails_) t->set_interest([shared] { return (*shared)(); });
}

void PartitionedStreamTail::restart_after(const Cursor& cursor) {
  if (!cursor.empty() && cursor.size() != tails_.size()) {
    throw ConfigError("partitioned tail: a cursor of " + std::to_string(cursor.size()) + " positions for " +
                      std::to_string(tails_.size()) + " partitions");
  }
  for (std::size_t i = 0; i < tails_.size(); ++i) tails_[i]->restart_after(cursor.empty() ? std::nullopt : cursor[i]);
}

void PartitionedStreamTail::start() {
  for (auto& t : tails_) t->start();
}

void PartitionedStreamTail::stop() {
  for (auto& t : tails_) t->stop();
}

bool PartitionedStreamTail::connected() const noexcept {
  for (const auto& t : tails_) {
    if (!t->connected()) return false;
  }
  return true;
}

std::uint64_t PartitionedStreamTail::delivered() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tails_) n += t->delivered();
  return n;
}

std::uint64_t PartitionedStreamTail::skipped() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tails_) n += t->skips().total();
  return n;
}

PartitionedStreamTail::Cursor PartitionedStreamTail::position() const {
  Cursor out;
  for (const auto& t : tails_) out.push_back(t->position());
  return out;
}

std::string PartitionedStreamTail::format_cursor(const Cursor& cursor) {
  std::string out;
  for (std::size_t i = 0; i < cursor.size(); ++i) {
    if (i != 0) out += ',';
    out += cursor[i] ? cursor[i]->to_string() : std::string("-");
  }
  return out;
}

PartitionedStreamTail::Cursor PartitionedStreamTail::parse_cursor(std::string_view text) {
  Cursor out;
  for (;;) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    if (part == "-") {
      out.emplace_back(std::nullopt);
    } else if (const auto id = StreamId::parse(part)) {
      out.emplace_back(*id);
    } else {
      throw ConfigError("tail cursor: '" + std::string(part) + "' is no stream id (expected <ms>-<seq> or -)");
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace tradpal::redis
