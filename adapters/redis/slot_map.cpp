#include "adapters/redis/slot_map.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <map>
#include <string>

namespace tradpal::redis {
namespace {

std::optional<long long> integer(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_INTEGER) return std::nullopt;
  return r->integer;
}

}  // namespace

std::shared_ptr<SlotMap> SlotMap::for_cluster(const RedisUrl& url) {
  // Keyed by the sorted seed list: two URLs naming the same nodes share a
  // map. Maps live as long as the process; a process talks to few clusters.
  std::vector<std::string> seeds;
  for (const Endpoint& e : url.seeds) seeds.push_back(e.host + ":" + std::to_string(e.port));
  std::sort(seeds.begin(), seeds.end());
  std::string key;
  for (const std::string& s : seeds) key += s + ",";
  static std::mutex registry_mutex;
  static std::map<std::string, std::shared_ptr<SlotMap>> registry;
  std::lock_guard lock(registry_mutex);
  std::shared_ptr<SlotMap>& map = registry[key];
  if (!map) map = std::make_shared<SlotMap>();
  return map;
}

std::optional<Endpoint> SlotMap::owner(std::uint16_t slot) const {
  std::lock_guard lock(mutex_);
  if (slot >= owner_of_slot_.size() || owner_of_slot_[slot] == kUnknown) return std::nullopt;
  return nodes_[owner_of_slot_[slot]];
}

std::uint16_t SlotMap::node_index(const Endpoint& node) {
  const auto it = std::find(nodes_.begin(), nodes_.end(), node);
  if (it != nodes_.end()) return static_cast<std::uint16_t>(it - nodes_.begin());
  nodes_.push_back(node);
  return static_cast<std::uint16_t>(nodes_.size() - 1);
}

void SlotMap::learn(std::uint16_t slot, const Endpoint& node) {
  std::lock_guard lock(mutex_);
  if (slot >= owner_of_slot_.size() || nodes_.size() >= kUnknown) return;
  owner_of_slot_[slot] = node_index(node);
}

bool SlotMap::load(const redisReply* reply, std::string_view asked_host) {
  // [[start, end, [host, port, id, ...], replica...], ...]
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return false;
  std::vector<std::uint16_t> owners(owner_of_slot_.size(), kUnknown);
  std::vector<Endpoint> nodes;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range == nullptr || range->type != REDIS_REPLY_ARRAY || range->elements < 3) return false;
    const auto start = integer(range->element[0]);
    const auto end = integer(range->element[1]);
    const redisReply* master = range->element[2];
    if (!start || !end || *start < 0 || *end < *start || *end >= static_cast<long long>(owners.size()) ||
        master == nullptr || master->type != REDIS_REPLY_ARRAY || master->elements < 2 ||
        master->element[0]->type != REDIS_REPLY_STRING || !integer(master->element[1])) {
      return false;
    }
    Endpoint node;
    node.host.assign(master->element[0]->str, master->element[0]->len);
    // Redis names a node it has no address for as "" (or "?" when the
    // preferred endpoint is unknown): it is on the host that answered.
    if (node.host.empty() || node.host == "?") node.host = asked_host;
    node.port = static_cast<int>(*integer(master->element[1]));
    auto it = std::find(nodes.begin(), nodes.end(), node);
    if (it == nodes.end()) {
      if (nodes.size() + 1 >= kUnknown) return false;
      nodes.push_back(node);
      it = nodes.end() - 1;
    }
    std::fill(owners.begin() + *start, owners.begin() + *end + 1, static_cast<std::uint16_t>(it - nodes.begin()));
  }
  std::lock_guard lock(mutex_);
  owner_of_slot_.swap(owners);
  nodes_.swap(nodes);
  ++loads_;
  return true;
}

std::uint64_t SlotMap::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

}  // namespace tradpal::redis
