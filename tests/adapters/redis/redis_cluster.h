// tests/adapters/redis/redis_cluster.h
//
// RedisCluster: a real Redis Cluster for integration tests: `masters`
// masters with `replicas` replicas each, every node a RedisServer (its own
// temporary directory and free port) with cluster-enabled and a short
// cluster-node-timeout, joined by hand as `redis-cli --cluster create` joins
// them (slot ranges split evenly over the masters; one master works too).
// Ready when
// every node says cluster_state:ok and every master has its replicas
// online. Nodes can be killed (kill -9) so a replica takes over, and a slot
// can be moved between masters by hand (the steps `redis-cli --cluster
// reshard` takes), with a pause between moving the keys and handing the
// slot over so clients meet ASK. One test thread drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "redis_server.h"

namespace tradpal::testing {

class RedisCluster {
 public:
  struct Options {
    int masters = 3;
    int replicas = 1;  // per master
    int node_timeout_ms = 1000;
    std::string password;  // requirepass and masterauth on every node ("": none)
  };

  RedisCluster() : RedisCluster(Options{}) {}
  // Throws std::runtime_error when the cluster does not form.
  explicit RedisCluster(Options options);
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // redis+cluster://[:password@]127.0.0.1:<port>,... naming every node.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] std::vector<int> ports() const;
  [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
  [[nodiscard]] RedisServer& node(std::size_t i) { return *nodes_[i]; }
  [[nodiscard]] RedisServer& node_at(int port);

  // The port of the master serving `slot` now, as a live node sees it.
  [[nodiscard]] int master_of(std::uint16_t slot);
  // The ports of the masters serving slots now.
  [[nodiscard]] std::vector<int> masters();
  // True once every live node reports cluster_state:ok, agrees on who
  // serves `slot` (when given), and each master has `replicas` replicas online.
  [[nodiscard]] bool wait_healthy(std::chrono::milliseconds timeout, int replicas_online);

  // Kills the master of `slot` with SIGKILL; returns its port.
  int kill_master_of(std::uint16_t slot);
  // Moves `slot` (with its keys) from its master to the master on
  // `to_port`: IMPORTING/MIGRATING, MIGRATE of every key, then, after
  // `pause`, SETSLOT NODE on every master.
  void move_slot(std::uint16_t slot, int to_port, std::chrono::milliseconds pause);

  // One command on one node, its reply flattened to text (errors throw).
  std::string command(int port, const std::vector<std::string>& args);

 private:
  [[nodiscard]] std::string node_id(int port);
  [[nodiscard]] int any_live_port();

  Options options_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace tradpal::testing
