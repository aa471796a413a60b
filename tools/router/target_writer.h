// tools/router/target_writer.h
//
// TargetWriter: writes routed copies into one target stream, each event id
// at most once. A batch of copies goes through one Lua script per chunk,
// atomic in Redis: it looks the chunk's event ids up in the target's dedup
// sets (SMISMEMBER), XADDs the copies whose id neither set holds (nor an
// earlier copy of the chunk), and adds those ids to the current set
// (SADD). So a copy written by a router that died before acknowledging its
// source entry is not written again by the router that takes the entry
// over, nor is an event the source holds twice.
//
// Dedup sets are buckets of time: "{<target's hash tag>}:routed:<n>", n =
// the router's clock in seconds / dedup_ttl. A copy's id is looked up in
// the current and the previous bucket and added to the current one, which
// expires 2 x dedup_ttl after it was last written: every id is remembered
// for at least dedup_ttl (routers' clocks may differ by much less than
// that). One set per bucket, not one key per event, keeps the cost per
// copy at a set lookup and insert. Every key shares the target's hash slot
// (its hash tag, or its whole name), so the script is valid on a cluster.
//
// (Measured against the script: WATCH + SMISMEMBER, then MULTI with plain
// XADDs and SADD, then EXEC, was slower: 0.36x the persister against 0.45x,
// Redis parsing and queueing each XADD costing more than Lua's call.)
//
// send() only queues the scripts on the connection and writes them out;
// receive() waits for their replies. Between the two, the caller prepares
// its next batch while Redis runs these. Used by one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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

  // Queues a copy. Both views must stay valid until receive() returns.
  void add(std::string_view event_id, std::string_view event_json);
  [[nodiscard]] bool queued() const noexcept { return !ids_.empty(); }
  // Drops what was queued and forgets what was sent (after an error; the
  // connection's unread replies are dropped with it when it is redone).
  void clear() noexcept;

  // Sends the queued copies (the queue is then empty). Throws
  // redis::RedisError on I/O errors.
  void send();

  struct Written {
    std::size_t copies = 0;
    std::size_t duplicates = 0;  // already in the target: not written again
  };
  // The outcome of every send() since the last receive(). Throws
  // redis::RedisError on I/O errors and error replies; the copies of a
  // chunk that failed are not written (a script runs whole or not at all
  // when it fails before writing, and a redelivery writes what is missing).
  Written receive();

  // The dedup set of `target` for bucket `n` (tests look at it).
  [[nodiscard]] static std::string dedup_set(std::string_view target, std::int64_t n);

 private:
  std::string target_;
  std::int64_t ttl_s_;
  std::string lifetime_;  // seconds a dedup set lives after its last write: 2 x ttl
  std::unique_ptr<redis::SyncClient> client_;
  std::vector<std::string_view> ids_;
  std::vector<std::string_view> payloads_;
  std::vector<std::size_t> in_flight_;  // copies per script sent, awaiting replies
  struct Synced {
    std::size_t copies = 0;
    std::size_t written = 0;
  };
  std::vector<Synced> synced_;  // chunks sent with command(), answered already
  bool follow_redirect_ = false;        // the last reply was MOVED/ASK: send the next one with command()
};

}  // namespace tradpal::router
