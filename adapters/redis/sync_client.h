// adapters/redis/sync_client.h
//
// SyncClient: a blocking hiredis connection with connect and command
// timeouts, for the synchronous paths (EventStore reads, stats, tests and
// tools). AUTH and SELECT follow the URL. One thread at a time; it
// reconnects on the next command after an I/O error, and a read-only
// command that fails on a connection the server has since closed is sent
// once more on a fresh one (writes never are). Errors are
// RedisError, whose text never contains the password.
//
// On a cluster URL (redis+cluster://) it talks to one node at a time: the
// first seed that answers, then wherever a MOVED or ASK reply to command()
// sends it (the command follows, at most five hops), and it waits out a
// failover's CLUSTERDOWN or TRYAGAIN for up to its timeout. One SyncClient
// per key (per partition stream) then stays on that key's node. Pipelined
// replies (append/get_reply) come back as the node sent them, redirects
// included.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/redis/redis_url.h"
#include "adapters/redis/slot_map.h"

struct redisContext;
struct redisReply;

namespace tradpal::redis {

class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class SyncClient {
 public:
  // Connects at once; throws RedisError when it cannot. `route_key`
  // (cluster only): the key its commands are about; it connects first to
  // the node the process's SlotMap names for that key's slot, and teaches
  // the map what MOVED replies say.
  explicit SyncClient(RedisUrl url, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
                      std::string route_key = {});
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Sends one command and returns its reply (an error reply is returned,
  // not thrown). Throws RedisError on I/O errors and timeouts.
  ReplyPtr command(std::initializer_list<std::string_view> args);
  ReplyPtr command(const std::vector<std::string>& args);
  ReplyPtr command(const std::vector<std::string_view>& args);
  // As command(), but an error reply throws RedisError too.
  ReplyPtr checked(std::initializer_list<std::string_view> args);

  // Pipelining: queue a command now, read its reply later with get_reply()
  // (replies come in the order commands were appended).
  void append(const std::vector<std::string_view>& args);
  ReplyPtr get_reply();
  // Sends what append() queued now, without waiting for a reply (get_reply
  // would send it too, but only when asked for the reply): Redis can work
  // on it while the caller does something else.
  void flush();
  // Drops the connection (and any replies not read yet); the next command
  // connects again.
  void reset() noexcept;

  [[nodiscard]] const RedisUrl& url() const noexcept { return url_; }
  // Where commands go now, safe to log (the node, for a cluster).
  [[nodiscard]] std::string where() const;

 private:
  void connect();
  void connect_to(const Endpoint& node);
  ReplyPtr follow(const std::vector<std::string_view>& args);
  ReplyPtr send(const std::vector<std::string_view>& args);
  ReplyPtr run(int argc, const char** argv, const std::size_t* lengths);

  RedisUrl url_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
  bool closed_by_peer_ = false;  // the last failure was the server closing the connection
  Endpoint node_;               // TCP URLs: the node connected to (a cluster's changes)
  std::shared_ptr<SlotMap> slots_;  // cluster with a route key
  std::uint16_t slot_ = 0;
};

}  // namespace tradpal::redis
