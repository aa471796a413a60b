// adapters/redis/partitioning.h
//
// Partitioning: how the events of one logical stream spread over N partition
// streams, so that a Redis Cluster's masters share the writes while every
// event of one key keeps its order (one key, one partition, one stream).
//
//   partition count 1    the stream keeps its plain name ("tradpal_events"):
//                        the wire is exactly the single-stream one.
//   partition count N>1  partition i is "<stream>:{p<i>}" or, when that hash
//                        tag's slot falls outside the i-th N-th of the slot
//                        space, "<stream>:{p<i>.<k>}" with the smallest k that
//                        lands there. A cluster whose masters split the slots
//                        evenly (as `redis-cli --cluster create` does) then
//                        holds N/masters partitions on each master. The names
//                        depend on N alone: every process with the same N
//                        reads and writes the same streams.
//
// The partition key of an event is `key` (default "data.symbol"): a dotted
// path into data or metadata ("data.symbol", "metadata.account"), or "type"
// or "source". Where the path is missing or is not a string or number, the
// event's type is the key. A key maps to partition FNV-1a-64(key) mod N:
// stable across processes, builds and releases.
//
// Immutable after construction; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event_view.h"

namespace tradpal::redis {

// Redis Cluster's hash tag of a key: the text between the first '{' and the
// next '}', when not empty; otherwise the whole key. Keys with equal tags
// share a slot.
[[nodiscard]] std::string_view hash_tag(std::string_view key) noexcept;

// Redis Cluster's hash slot of a key: CRC16 (XMODEM) of its hash tag, mod
// 16384.
[[nodiscard]] std::uint16_t key_slot(std::string_view key) noexcept;
inline constexpr std::uint16_t kClusterSlots = 16384;

struct PartitionOptions {
  std::size_t count = 1;
  std::string key = "data.symbol";
  static constexpr std::size_t kMaxCount = 1024;
};

class Partitioning {
 public:
  // Throws ConfigError (redis_url.h) for a count of 0 or above kMaxCount, a
  // key that is no path, or a stream name that carries its own hash tag
  // while count > 1 (every partition would then share one slot).
  Partitioning(std::string stream, PartitionOptions options);

  [[nodiscard]] std::size_t count() const noexcept { return streams_.size(); }
  [[nodiscard]] const std::string& stream(std::size_t partition) const noexcept { return streams_[partition]; }
  [[nodiscard]] const std::vector<std::string>& streams() const noexcept { return streams_; }
  [[nodiscard]] const std::string& base_stream() const noexcept { return base_; }
  [[nodiscard]] const PartitionOptions& options() const noexcept { return options_; }

  // The partition of a key (FNV-1a-64 mod count).
  [[nodiscard]] std::size_t partition_of_key(std::string_view key) const noexcept;
  // The partition of an event on the bus: reads its data or metadata in
  // place when the key is a path (not at all when count is 1). Never throws;
  // unreadable JSON falls back to the type as key.
  [[nodiscard]] std::size_t partition_of(const EventView& view) const noexcept;
  // The same for an event held as text (decoded from Redis, read from a file).
  [[nodiscard]] std::size_t partition_of(std::string_view type, std::string_view source, std::string_view data,
                                         std::string_view metadata) const;

 private:
  enum class KeyKind { type, source, data_path, metadata_path };

  std::string base_;
  PartitionOptions options_;
  KeyKind kind_ = KeyKind::type;
  std::string pointer_;  // the path as a JSON pointer ("/symbol")
  std::vector<std::string> streams_;
};

// The partitions of the events seen last, for the persisters of one
// PartitionedPersister: they all run on one I/O thread and each looks at
// every event, so the first to meet an event reads its key and the others
// find the answer here instead of parsing the same JSON again. An event is
// known by where its bytes lie and its sequence: while any persister has yet
// to take it, its frame cannot be reused, so the pair names it alone. A
// slot overwritten meanwhile only costs a second parse, which gives the same
// answer. One thread only; no allocation.
class PartitionMemo {
 public:
  [[nodiscard]] std::size_t partition_of(const Partitioning& partitioning, const EventView& view) noexcept {
    const auto* at = view.data().data();
    const Sequence seq = view.sequence();
    Slot& slot = slots_[(reinterpret_cast<std::uintptr_t>(at) / 64 ^ seq) % kSlots];
    if (slot.at == at && slot.seq == seq) return slot.partition;
    slot.at = at;
    slot.seq = seq;
    slot.partition = partitioning.partition_of(view);
    return slot.partition;
  }

 private:
  static constexpr std::size_t kSlots = 4096;
  struct Slot {
    const char* at = nullptr;
    Sequence seq = 0;
    std::size_t partition = 0;
  };
  Slot slots_[kSlots];
};

}  // namespace tradpal::redis
