// adapters/redis/async_connection.h
//
// AsyncConnection: one Redis connection driven by an IoThread's libuv loop,
// with hiredis' async API encoding commands and parsing replies. The glue to
// libuv is ours (hiredis 0.14's own adapter drops poll errors, so a refused
// connect would never report): a uv_poll on the socket, a connect timeout,
// a reply timeout (no reply within `reply_timeout` while commands are
// outstanding means the server is hung), and reconnection with exponential
// backoff and jitter, gated by a CircuitBreaker. After each connect it sends
// AUTH (with the ACL user when given), SELECT and PING before reporting ready.
//
// On a cluster URL (redis+cluster://) the connection is to one node at a
// time: with a route key, the node the shared SlotMap names for its slot
// (checked with CLUSTER SLOTS after each connect), else the first seed;
// then whichever node a MOVED or ASK reply names (redirect()). A node that cannot be reached
// sends the next attempt to the next seed, so a connection whose master
// died finds the cluster again through the survivors and follows their
// redirects to the promoted replica. The connection itself handles the
// cluster's error replies to its owner's commands: MOVED and ASK redirect it
// (see redirect()), CLUSTERDOWN, TRYAGAIN, MASTERDOWN and LOADING drop it
// for a reconnect after the backoff. None of them reaches the owner, which
// sees on_down and then on_ready at the right node, as after any reconnect:
// an owner that survives reconnects (positions, recovery scans) survives a
// failover or a migration too.
//
// Threads: everything but the read-only health accessors runs on the loop
// thread. Ownership: the redisAsyncContext and its uv_poll belong to this
// object; the poll handle is freed in its close callback. Replies reach the
// owner through ConnectionOwner::on_reply and are freed by hiredis when it
// returns. Nothing thrown by the owner may cross these callbacks: its hooks
// are noexcept.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "adapters/redis/backoff.h"
#include "adapters/redis/circuit_breaker.h"
#include "adapters/redis/redis_url.h"
#include "adapters/redis/reply_arena.h"
#include "adapters/redis/slot_map.h"

struct redisAsyncContext;
struct redisReply;

namespace tradpal::redis {

struct ConnectionOptions {
  RedisUrl url;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds reply_timeout{2000};
  BackoffOptions backoff;
  BreakerOptions breaker;
  std::string name = "redis";  // for logs: which connection this is
  // Cluster: the key this connection's commands are about (a stream). It
  // connects first to the node the process's SlotMap names for the key's
  // slot, and after each connect asks CLUSTER SLOTS (refreshing the map)
  // and moves on at once if another node serves the slot, before the
  // owner sends anything. Empty: seeds and redirects only.
  std::string route_key;
};

// What a connection tells the component that owns it (loop thread only).
class ConnectionOwner {
 public:
  // Connected, authenticated and selected: commands may be sent.
  virtual void on_ready() noexcept = 0;
  // The connection is gone; replies to commands sent before will never
  // come. A reconnect is already scheduled.
  virtual void on_down(std::string_view why) noexcept = 0;
  // One reply, in the order commands were sent; `tag` is what send() got.
  // The reply is freed by hiredis after this returns.
  virtual void on_reply(std::uintptr_t tag, redisReply* reply) noexcept = 0;
  // Every reply that one read from the socket held has been handed to
  // on_reply: the end of a burst, where an owner hands on what it gathered.
  virtual void on_replies_done() noexcept {}

 protected:
  ~ConnectionOwner() = default;
};

class AsyncConnection {
 public:
  AsyncConnection(uv_loop_t* loop, ConnectionOptions options, ConnectionOwner& owner);
  ~AsyncConnection();
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  // ---- loop thread ------------------------------------------------------

  // Begins connecting (and reconnecting for as long as it is not closed).
  void start() noexcept;
  // Frees the context and closes every handle; `closed` runs once the last
  // close callback has (the object may be destroyed from then on).
  void close(std::function<void()> closed) noexcept;

  [[nodiscard]] bool ready() const noexcept { return ready_; }
  [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

  // Queues one command already in RESP form. `allowance` extends the reply
  // deadline for commands that block on the server (XREADGROUP BLOCK).
  // False when not ready (nothing was queued).
  bool send_formatted(std::string_view command, std::uintptr_t tag,
                      std::chrono::milliseconds allowance = std::chrono::milliseconds(0)) noexcept;
  // Queues a command from its arguments.
  bool send_argv(int argc, const char** argv, const std::size_t* lengths, std::uintptr_t tag,
                 std::chrono::milliseconds allowance = std::chrono::milliseconds(0)) noexcept;
  // Writes what is queued now instead of on the next poll. Safe from inside
  // a reply handler too (a plain buffer write there; errors surface at the
  // next poll).
  void flush() noexcept;
  // Drops the connection (a reconnect follows) and reports `why`.
  void fail(std::string why) noexcept;
  // The server answered a command with an error that a retry would meet
  // again until someone fixes the server (WRONGTYPE, NOPERM, OOM): drops the
  // connection like fail(), but the refusal sticks. A reconnect then neither
  // closes the breaker nor resets the backoff, so retries slow to the
  // backoff's maximum, repeats of one refusal are logged sparingly, and
  // refusing() stays true, until the owner reports command_succeeded().
  void refuse(std::string why) noexcept;
  // A command the server could have refused went through: ends a refusal.
  void command_succeeded() noexcept;
  // Cluster: the owner's key lives on `node` (a MOVED reply; with `asking`,
  // an ASK: every command is then preceded by ASKING until the next
  // redirect). Drops this connection and connects there at once; a node
  // that redirects back and forth is retried with the backoff. An empty
  // host means the host connected to now.
  void redirect(Endpoint node, bool asking, std::string why) noexcept;
  // The node connected to (or to be connected to next), as a URL safe to log.
  [[nodiscard]] std::string where() const;

  [[nodiscard]] CircuitBreaker& breaker() noexcept { return breaker_; }

  // ---- any thread: health -------------------------------------------------

  [[nodiscard]] BreakerState breaker_state() const noexcept { return breaker_.state(); }
  [[nodiscard]] bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
  // The server refused the last command that mattered, and none has succeeded since.
  [[nodiscard]] bool refusing() const noexcept { return refusing_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t connect_attempts() const noexcept { return attempts_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t reply_timeouts() const noexcept { return reply_timeouts_.load(std::memory_order_relaxed); }
  // Cluster: MOVED and ASK replies followed.
  [[nodiscard]] std::uint64_t redirects() const noexcept { return redirects_.load(std::memory_order_relaxed); }
  // The node connected to or tried last, as a URL safe to log.
  [[nodiscard]] std::string node() const;
  // The last failure's description (never contains a password); empty if none.
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] const ConnectionOptions& options() const noexcept { return options_; }

 private:
  struct SocketWatch;
  enum class HandshakeStep : std::uintptr_t { auth = 1, select = 2, ping = 3, slots = 4 };

  void connect() noexcept;
  void context_gone(redisAsyncContext* ac) noexcept;
  void schedule_retry() noexcept;
  void set_error(std::string why);
  void arm_reply_timer(std::uint64_t deadline) noexcept;
  void after_send(std::chrono::milliseconds allowance) noexcept;
  void handshake_reply(HandshakeStep step, redisReply* reply) noexcept;
  // Cluster with a route key: CLUSTER SLOTS answered; go where the slot is.
  // False when this node serves it (or the map cannot say).
  bool route_by_slots(const redisReply* reply) noexcept;
  void become_ready() noexcept;
  [[nodiscard]] bool routed() const noexcept { return slots_ != nullptr; }
  void handle_closed() noexcept;
  void next_seed() noexcept;
  bool cluster_error(std::string_view text) noexcept;
  bool send_asking() noexcept;

  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_command_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_handshake_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void update_poll(void* watch, int add, int remove);
  static void on_connect_timeout(uv_timer_t* timer);
  static void on_reply_timeout(uv_timer_t* timer);
  static void on_retry(uv_timer_t* timer);

  uv_loop_t* loop_;
  ConnectionOptions options_;
  ConnectionOwner& owner_;
  ReconnectBackoff backoff_;
  CircuitBreaker breaker_;

  uv_timer_t connect_timer_{};
  uv_timer_t reply_timer_{};
  uv_timer_t retry_timer_{};
  int open_handles_ = 0;
  std::function<void()> closed_callback_;

  ReplyArena arena_;  // builds the replies of the context below
  redisAsyncContext* ac_ = nullptr;
  SocketWatch* watch_ = nullptr;
  bool ready_ = false;
  bool closing_ = false;
  bool started_ = false;
  int hiredis_depth_ = 0;       // > 0 while inside redisAsyncHandleRead/Write
  std::size_t outstanding_ = 0;  // owner's commands sent, reply not yet seen
  std::uint64_t deadline_ = 0;   // loop time (ms) by which a reply must come
  std::string fail_reason_;      // set by us before we free the context
  Endpoint target_;              // the node connect() goes to (TCP URLs)
  std::size_t seed_index_ = 0;   // cluster: the seed target_ was taken from
  bool asking_ = false;          // cluster: ASKING before every command
  std::shared_ptr<SlotMap> slots_;  // cluster with a route key: the process's map
  std::uint16_t slot_ = 0;          // the route key's slot
  bool checking_slots_ = false;     // this connect's CLUSTER SLOTS is outstanding
  bool redirected_ = false;      // the next attempt follows a redirect: no backoff
  unsigned redirects_in_row_ = 0;  // redirects with no command answered between

  std::string last_logged_;      // the last failure logged, to thin out repeats
  bool breaker_counted_ = false;  // refuse() has told the breaker of this failure
  std::atomic<bool> connected_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<std::uint64_t> attempts_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> reply_timeouts_{0};
  std::atomic<std::uint64_t> redirects_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
  std::string node_;  // where(), for other threads (under error_mutex_)
};

}  // namespace tradpal::redis
