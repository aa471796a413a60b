// adapters/redis/cluster_redirect.h
//
// What a Redis Cluster node's error reply asks of a client:
//
//   MOVED <slot> <host>:<port>   the slot lives on that node now: send this
//                                and every later command for it there.
//   ASK <slot> <host>:<port>     the slot is being migrated and this key is
//                                already on that node: send the command there,
//                                preceded by ASKING, until a MOVED says the
//                                migration is over.
//   CLUSTERDOWN, TRYAGAIN,       a failover or a migration is under way: the
//   MASTERDOWN, LOADING          same command passes a moment later.
//
// Plain functions on the reply's text; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "adapters/redis/redis_url.h"

namespace tradpal::redis {

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  std::uint16_t slot = 0;
  // Empty host: the node did not say (cluster-preferred-endpoint-type
  // unknown-endpoint); it is the host the command was sent to.
  Endpoint node;
};

// The redirect an error reply carries, or nullopt when it is no redirect.
[[nodiscard]] std::optional<Redirect> parse_redirect(std::string_view error);

// True for the cluster's passing states, which a retry after a pause passes.
[[nodiscard]] bool is_transient_cluster_error(std::string_view error) noexcept;

}  // namespace tradpal::redis
