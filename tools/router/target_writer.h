// tools/router/target_writer.h
//
// TargetWriter: writes routed copies into one target stream, each event id
// at most once. Every copy goes through one Lua script with its dedup key,
// "{<target's hash tag>}:routed:<event_id>": SET NX EX <ttl>, and XADD only
// when the key was new. Script and key run atomically in Redis, so a copy
// written by a router that died before acknowledging the source entry is
// not written again by the router that takes the entry over. The key
// shares the target's hash slot (its hash tag, or its whole name), so the
// script is valid on a cluster. Copies are sent in chunks per EVAL.
//
// Used by one thread (the routing loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/redis/redis_url.h"
#include "adapters/redis/sync_client.h"

namespace tradpal::router {

class TargetWriter {
 public:
  // Connects at once; throws redis::RedisError when it cannot.
  TargetWriter(const redis::RedisUrl& url, std::string target, std::chrono::seconds dedup_ttl);

  [[nodiscard]] const std::string& target() const noexcept { return target_; }

  // Queues a copy: `event_json` is the `event` field of the entry written.
  void add(std::string_view event_id, std::string event_json);
  [[nodiscard]] bool empty() const noexcept { return keys_.empty(); }
  // Drops what was queued.
  void clear() noexcept {
    keys_.clear();
    payloads_.clear();
  }

  struct Written {
    std::size_t copies = 0;
    std::size_t duplicates = 0;  // already in the target: not written again
  };
  // Writes what was queued and clears the queue, also when it throws
  // redis::RedisError (the caller leaves the source entries unacknowledged,
  // and their redelivery queues them again).
  Written flush();

  // The dedup key of an event id in `target` (tests look at it).
  [[nodiscard]] static std::string dedup_key(std::string_view target, std::string_view event_id);

 private:
  std::string target_;
  std::string ttl_;
  std::unique_ptr<redis::SyncClient> client_;
  std::vector<std::string> keys_;
  std::vector<std::string> payloads_;
};

}  // namespace tradpal::router
