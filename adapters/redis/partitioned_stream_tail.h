// adapters/redis/partitioned_stream_tail.h
//
// PartitionedStreamTail: follows every partition stream of a Partitioning
// (a StreamTail per partition, each on its own connection to the node that
// holds its stream, all on one IoThread) and delivers every entry, whoever
// wrote it, with the partition it came from. Each partition's entries come
// in that partition's order, exactly once across reconnects and failovers;
// between partitions they come as they arrive (no merge, so an idle
// partition holds nobody back).
//
// Its position is one stream id per partition: a cursor that names exactly
// what has been delivered, which the text form "<id0>,<id1>,..." carries
// across restarts (start_after(parse_cursor(text))). With one partition the
// cursor is a plain stream id, as the single-stream tail's.
//
// Threads and lifetimes as StreamTail's: handlers run on the IoThread (one
// at a time), position() from any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/redis/partitioning.h"
#include "adapters/redis/stream_tail.h"

namespace tradpal::redis {

class PartitionedStreamTail {
 public:
  using Handler = std::function<void(std::size_t partition, const TailEntry&)>;
  // One position per partition (nullopt: from where that stream ends when the tail starts).
  using Cursor = std::vector<std::optional<StreamId>>;

  // `options.start` applies to every partition; `options.stream` is replaced
  // by each partition's.
  PartitionedStreamTail(IoThread& io, std::shared_ptr<const Partitioning> partitioning, StreamTailOptions options);
  // Starts each partition after its own position in `cursor` (one entry per
  // partition; nullopt: from the stream's end). Throws ConfigError when the
  // cursor has another partition count.
  PartitionedStreamTail(IoThread& io, std::shared_ptr<const Partitioning> partitioning, StreamTailOptions options,
                        const Cursor& cursor);

  void on_entry(Handler handler);
  // After each partition's burst (see StreamTail::on_batch).
  void on_batch(StreamTail::BatchDone done);
  // Every partition's tail reads only while `interested` says so (see
  // StreamTail::set_interest).
  void set_interest(std::function<bool()> interested);
  // Restarts each partition after its position in `cursor` (nullopt: from
  // that stream's end), as StreamTail::restart_after; an empty cursor
  // restarts every partition from its end. Throws ConfigError when the
  // cursor has another partition count.
  void restart_after(const Cursor& cursor);
  void start();
  void stop();

  [[nodiscard]] std::size_t partitions() const noexcept { return tails_.size(); }
  [[nodiscard]] bool connected() const noexcept;
  [[nodiscard]] std::uint64_t delivered() const noexcept;
  // Entries passed over as no TradPal event, over every partition.
  [[nodiscard]] std::uint64_t skipped() const noexcept;
  // Where each partition is: the last entry delivered, or where it starts.
  [[nodiscard]] Cursor position() const;

  // "<id0>,<id1>,..." ("-" for a partition without a position), and back;
  // parse_cursor throws ConfigError on anything else.
  [[nodiscard]] static std::string format_cursor(const Cursor& cursor);
  [[nodiscard]] static Cursor parse_cursor(std::string_view text);

 private:
  std::shared_ptr<const Partitioning> partitioning_;
  std::vector<std::unique_ptr<StreamTail>> tails_;
};

}  // namespace tradpal::redis
