#include "redis_cluster.h"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <random>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace tradpal::testing {
namespace {

struct Reply {
  redisReply* r = nullptr;
  ~Reply() {
    if (r != nullptr) freeReplyObject(r);
  }
};

void flatten(const redisReply* r, std::string& out) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.append(r->str, r->len);
      out += '\n';
      return;
    case REDIS_REPLY_INTEGER:
      out += std::to_string(r->integer);
      out += '\n';
      return;
    case REDIS_REPLY_ARRAY:
      for (std::size_t i = 0; i < r->elements; ++i) flatten(r->element[i], out);
      return;
    default:
      return;
  }
}

}  // namespace

// A node needs a second port, its cluster bus, at port + 10000: a port
// below 55536 whose bus port is free too.
int cluster_port() {
  static std::minstd_rand rng(std::random_device{}());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = std::uniform_int_distribution<int>(20000, 29999)(rng);
    if (RedisServer::port_free(port) && RedisServer::port_free(port + 10000)) return port;
  }
  throw std::runtime_error("no free port pair for a cluster node");
}

RedisCluster::RedisCluster(Options options) : options_(options) {
  const int count = options_.masters * (1 + options_.replicas);
  for (int i = 0; i < count; ++i) {
    RedisServer::Options o;
    o.appendonly = false;
    o.port = cluster_port();
    o.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
                    std::to_string(options_.node_timeout_ms)};
    if (!options_.password.empty()) {
      o.extra_args.insert(o.extra_args.end(),
                          {"--requirepass", options_.password, "--masterauth", options_.password});
    }
    nodes_.push_back(std::make_unique<RedisServer>(o));
  }
  // Built by hand, as `redis-cli --cluster create` would (which needs at
  // least three masters): masters take even slot ranges, every node meets
  // the first, then each replica follows its master.
  const int masters = options_.masters;
  for (int m = 0; m < masters; ++m) {
    command(nodes_[m]->port(), {"CLUSTER", "ADDSLOTSRANGE", std::to_string(m * 16384 / masters),
                                std::to_string((m + 1) * 16384 / masters - 1)});
    command(nodes_[m]->port(), {"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(m + 1)});
  }
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    command(nodes_[i]->port(), {"CLUSTER", "MEET", "127.0.0.1", std::to_string(nodes_[0]->port())});
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto known = [&](int port) {
    const std::string nodes = command(port, {"CLUSTER", "NODES"});
    std::size_t lines = 0;
    for (std::size_t p = nodes.find('\n'); p != std::string::npos; p = nodes.find('\n', p + 1)) ++lines;
    return lines >= nodes_.size() && nodes.find("handshake") == std::string::npos;
  };
  for (auto& n : nodes_) {
    while (!known(n->port())) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cluster nodes did not meet");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  for (int r = 0; r < options_.replicas; ++r) {
    for (int m = 0; m < masters; ++m) {
      const auto& replica = nodes_[static_cast<std::size_t>(masters * (r + 1) + m)];
      const std::string master = node_id(nodes_[m]->port());
      // Gossip may not have told the replica of its master yet.
      for (;;) {
        try {
          command(replica->port(), {"CLUSTER", "REPLICATE", master});
          break;
        } catch (const std::runtime_error&) {
          if (std::chrono::steady_clock::now() > deadline) throw;
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    }
  }
  if (!wait_healthy(std::chrono::seconds(30), options_.replicas)) {
    throw std::runtime_error("the cluster did not become healthy");
  }
}

std::string RedisCluster::url() const {
  std::string out = "redis+cluster://";
  if (!options_.password.empty()) out += ":" + options_.password + "@";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i != 0) out += ',';
    out += "127.0.0.1:" + std::to_string(nodes_[i]->port());
  }
  return out;
}

std::vector<int> RedisCluster::ports() const {
  std::vector<int> out;
  for (const auto& n : nodes_) out.push_back(n->port());
  return out;
}

RedisServer& RedisCluster::node_at(int port) {
  for (auto& n : nodes_) {
    if (n->port() == port) return *n;
  }
  throw std::runtime_error("no node on port " + std::to_string(port));
}

std::string RedisCluster::command(int port, const std::vector<std::string>& args) {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    throw std::runtime_error("cannot reach node " + std::to_string(port));
  }
  redisSetTimeout(c, tv);
  if (!options_.password.empty()) {
    Reply auth{static_cast<redisReply*>(redisCommand(c, "AUTH %s", options_.password.c_str()))};
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> len;
  for (const auto& a : args) {
    argv.push_back(a.data());
    len.push_back(a.size());
  }
  Reply reply{static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), len.data()))};
  redisFree(c);
  if (reply.r == nullptr) throw std::runtime_error("no reply from node " + std::to_string(port));
  std::string out;
  flatten(reply.r, out);
  if (reply.r->type == REDIS_REPLY_ERROR) throw std::runtime_error(args[0] + " on " + std::to_string(port) + ": " + out);
  return out;
}

int RedisCluster::any_live_port() {
  for (auto& n : nodes_) {
    if (n->running()) return n->port();
  }
  throw std::runtime_error("no live node");
}

std::string RedisCluster::node_id(int port) { return command(port, {"CLUSTER", "MYID"}).substr(0, 40); }

int RedisCluster::master_of(std::uint16_t slot) {
  // CLUSTER SLOTS flattened: start, end, then host, port, id per node.
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", any_live_port(), tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    throw std::runtime_error("cannot reach a node");
  }
  if (!options_.password.empty()) {
    Reply auth{static_cast<redisReply*>(redisCommand(c, "AUTH %s", options_.password.c_str()))};
  }
  Reply reply{static_cast<redisReply*>(redisCommand(c, "CLUSTER SLOTS"))};
  redisFree(c);
  if (reply.r == nullptr || reply.r->type != REDIS_REPLY_ARRAY) throw std::runtime_error("CLUSTER SLOTS failed");
  for (std::size_t i = 0; i < reply.r->elements; ++i) {
    const redisReply* range = reply.r->element[i];
    if (range->elements < 3) continue;
    if (slot >= range->element[0]->integer && slot <= range->element[1]->integer) {
      return static_cast<int>(range->element[2]->element[1]->integer);
    }
  }
  throw std::runtime_error("slot " + std::to_string(slot) + " is served by no node");
}

std::vector<int> RedisCluster::masters() {
  std::set<int> out;
  for (int slot = 0; slot < 16384; slot += 64) out.insert(master_of(static_cast<std::uint16_t>(slot)));
  return {out.begin(), out.end()};
}

bool RedisCluster::wait_healthy(std::chrono::milliseconds timeout, int replicas_online) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool ok = true;
    try {
      for (auto& n : nodes_) {
        if (!n->running()) continue;
        const std::string info = command(n->port(), {"CLUSTER", "INFO"});
        if (info.find("cluster_state:ok") == std::string::npos) ok = false;
        // A master serving slots (its CLUSTER NODES line lists ranges after
        // the 8 fixed fields) needs its replicas online.
        const std::string nodes = command(n->port(), {"CLUSTER", "NODES"});
        const std::size_t mine = nodes.find("myself,master");
        if (mine == std::string::npos) continue;
        const std::size_t line_start = nodes.rfind('\n', mine) == std::string::npos ? 0 : nodes.rfind('\n', mine) + 1;
        const std::string line = nodes.substr(line_start, nodes.find('\n', mine) - line_start);
        int fields = 0;
        for (std::size_t p = 0; p < line.size();) {
          const std::size_t q = line.find(' ', p);
          ++fields;
          if (q == std::string::npos) break;
          p = q + 1;
        }
        if (fields <= 8) continue;
        const std::string repl = command(n->port(), {"INFO", "replication"});
        int online = 0;
        for (std::size_t p = repl.find("state=online"); p != std::string::npos; p = repl.find("state=online", p + 1)) {
          ++online;
        }
        if (online < replicas_online) ok = false;
      }
    } catch (const std::exception&) {
      ok = false;
    }
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

int RedisCluster::kill_master_of(std::uint16_t slot) {
  const int port = master_of(slot);
  node_at(port).kill9();
  return port;
}

void RedisCluster::move_slot(std::uint16_t slot, int to_port, std::chrono::milliseconds pause) {
  const int from_port = master_of(slot);
  if (from_port == to_port) return;
  const std::string from_id = node_id(from_port);
  const std::string to_id = node_id(to_port);
  const std::string s = std::to_string(slot);
  command(to_port, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id});
  command(from_port, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id});
  for (;;) {
    const std::string keys = command(from_port, {"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (keys.empty()) break;
    std::vector<std::string> args = {"MIGRATE", "127.0.0.1", std::to_string(to_port), "", "0", "5000", "KEYS"};
    std::size_t start = 0;
    for (std::size_t nl = keys.find('\n'); nl != std::string::npos; nl = keys.find('\n', start)) {
      args.push_back(keys.substr(start, nl - start));
      start = nl + 1;
    }
    command(from_port, args);
  }
  std::this_thread::sleep_for(pause);
  // The new owner first, then the old one, then every other master.
  command(to_port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
  command(from_port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
  for (const int port : masters()) {
    if (port != to_port && port != from_port) command(port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
  }
}

}  // namespace tradpal::testing
