// adapters/redis/slot_map.h
//
// SlotMap: where a Redis Cluster's hash slots live, as far as this process
// knows. Every connection to one cluster (one seed list) shares one map:
// what one learns, from a CLUSTER SLOTS reply after it connects or from a
// MOVED reply, spares the others a redirect. A connection for a key goes
// first to the node the map names for the key's slot.
//
// Advice, never truth: the cluster's own answers (MOVED, ASK) still decide,
// and correct the map as they come. After a failover or a resharding the
// map is refreshed by the next connection that reaches the cluster (every
// connection asks CLUSTER SLOTS once connected) and by each MOVED.
//
// Threads: any (a mutex guards it); it is consulted on connects and
// redirects only, never per command.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "adapters/redis/redis_url.h"

struct redisReply;

namespace tradpal::redis {

class SlotMap {
 public:
  // The map shared by every connection to the cluster `url` names (its
  // seeds, whatever their order or credentials).
  [[nodiscard]] static std::shared_ptr<SlotMap> for_cluster(const RedisUrl& url);

  // The master serving `slot`, if known.
  [[nodiscard]] std::optional<Endpoint> owner(std::uint16_t slot) const;
  // A MOVED reply: `slot` is served by `node`.
  void learn(std::uint16_t slot, const Endpoint& node);
  // A CLUSTER SLOTS reply replaces what the map knew. A node without a host
  // in the reply is on `asked_host` (the host the reply came from). False,
  // and the map unchanged, when the reply is not one.
  bool load(const redisReply* reply, std::string_view asked_host);
  // How many CLUSTER SLOTS replies were loaded.
  [[nodiscard]] std::uint64_t loads() const;

 private:
  static constexpr std::uint16_t kUnknown = 0xffff;

  mutable std::mutex mutex_;
  std::vector<std::uint16_t> owner_of_slot_ = std::vector<std::uint16_t>(16384, kUnknown);  // index into nodes_
  std::vector<Endpoint> nodes_;
  std::uint64_t loads_ = 0;

  std::uint16_t node_index(const Endpoint& node);  // holds mutex_
};

}  // namespace tradpal::redis
