#include "adapters/redis/async_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <string>
#include <utility>

#include "adapters/redis/cluster_redirect.h"
#include "adapters/redis/log.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/sigpipe.h"

namespace tradpal::redis {

// One per connection attempt: the uv_poll on that attempt's socket. It must
// outlive the context (libuv frees nothing before the close callback), so
// it is heap-allocated and deleted in its close callback.
struct AsyncConnection::SocketWatch {
  uv_poll_t poll{};
  AsyncConnection* owner = nullptr;
  redisAsyncContext* ac = nullptr;  // null once hiredis has cleaned up
  int events = 0;
  bool initialised = false;
};


AsyncConnection::AsyncConnection(uv_loop_t* loop, ConnectionOptions options, ConnectionOwner& owner)
    : loop_(loop), options_(std::move(options)), owner_(owner), backoff_(options_.backoff),
      breaker_(options_.breaker) {
  ignore_sigpipe();
  target_ = Endpoint{options_.url.host, options_.url.port};
  if (options_.url.cluster && !options_.route_key.empty()) {
    slots_ = SlotMap::for_cluster(options_.url);
    slot_ = key_slot(options_.route_key);
    if (auto at = slots_->owner(slot_)) target_ = std::move(*at);
  }
  for (uv_timer_t* t : {&connect_timer_, &reply_timer_, &retry_timer_}) {
    uv_timer_init(loop_, t);
    t->data = this;
    ++open_handles_;
  }
}

AsyncConnection::~AsyncConnection() {
  // The owner closes us (close()) and waits for the callback before
  // destroying; this is the last line of defence when it did not.
  if (ac_ != nullptr) {
    closing_ = true;
    redisAsyncFree(ac_);
  }
}

void AsyncConnection::start() noexcept {
  if (started_ || closing_) return;
  started_ = true;
  connect();
}

std::string AsyncConnection::node() const {
  std::lock_guard lock(error_mutex_);
  return node_;
}

std::string AsyncConnection::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void AsyncConnection::set_error(std::string why) {
  std::lock_guard lock(error_mutex_);
  last_error_ = std::move(why);
}

void AsyncConnection::update_poll(void* data, int add, int remove) {
  auto* w = static_cast<SocketWatch*>(data);
  if (w == nullptr || w->ac == nullptr) return;
  const int events = (w->events | add) & ~remove;
  if (events == w->events) return;
  w->events = events;
  if (events == 0) {
    uv_poll_stop(&w->poll);
  } else {
    uv_poll_start(&w->poll, events, &AsyncConnection::on_poll);
  }
}

void AsyncConnection::connect() noexcept {
  if (closing_) return;
  attempts_.fetch_add(1, std::memory_order_relaxed);
  try {
    std::string node = where();
    std::lock_guard lock(error_mutex_);
    node_.swap(node);
  } catch (...) {
  }
  redisAsyncContext* ac = options_.url.is_unix() ? redisAsyncConnectUnix(options_.url.unix_path.c_str())
                                                 : redisAsyncConnect(target_.host.c_str(), target_.port);
  if (ac == nullptr) {
    set_error("out of memory creating a connection");
    failures_.fetch_add(1, std::memory_order_relaxed);
    breaker_.record_failure();
    schedule_retry();
    return;
  }
  if (ac->err != 0) {
    // The connect failed synchronously (no such socket file, bad host name).
    std::string why = "connect to " + where() + " failed: " + ac->errstr;
    redisAsyncFree(ac);
    next_seed();
    failures_.fetch_add(1, std::memory_order_relaxed);
    breaker_.record_failure();
    log(LogLevel::warning, options_.name + ": " + why);
    set_error(std::move(why));
    owner_.on_down(last_error());
    schedule_retry();
    return;
  }
  arena_.attach(ac->c.reader);
  auto* w = new SocketWatch;
  w->owner = this;
  w->ac = ac;
  if (uv_poll_init(loop_, &w->poll, ac->c.fd) != 0) {
    delete w;
    redisAsyncFree(ac);
    set_error("cannot watch the socket");
    failures_.fetch_add(1, std::memory_order_relaxed);
    breaker_.record_failure();
    schedule_retry();
    return;
  }
  w->poll.data = w;
  w->initialised = true;
  ++open_handles_;
  ac_ = ac;
  watch_ = w;
  fail_reason_.clear();
  outstanding_ = 0;
  ac->data = this;
  ac->ev.data = w;
  ac->ev.addRead = [](void* d) { update_poll(d, UV_READABLE, 0); };
  ac->ev.delRead = [](void* d) { update_poll(d, 0, UV_READABLE); };
  ac->ev.addWrite = [](void* d) { update_poll(d, UV_WRITABLE, 0); };
  ac->ev.delWrite = [](void* d) { update_poll(d, 0, UV_WRITABLE); };
  ac->ev.cleanup = [](void* data) {
    auto* watch = static_cast<SocketWatch*>(data);
    redisAsyncContext* dying = watch->ac;
    watch->ac = nullptr;
    uv_poll_stop(&watch->poll);
    AsyncConnection* self = watch->owner;
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), [](uv_handle_t* h) {
      auto* sw = static_cast<SocketWatch*>(h->data);
      AsyncConnection* o = sw->owner;
      delete sw;
      if (o != nullptr) o->handle_closed();
    });
    if (self != nullptr) self->context_gone(dying);
  };
  // Setting the connect callback asks for the first write event, which is
  // how a non-blocking connect reports completion; the hooks must be in place.
  redisAsyncSetConnectCallback(ac, &AsyncConnection::on_connect);
  uv_timer_start(&connect_timer_, &AsyncConnection::on_connect_timeout,
                 static_cast<std::uint64_t>(options_.connect_timeout.count()), 0);
}

void AsyncConnection::on_connect(const redisAsyncContext* cac, int status) {
  // Called from inside hiredis' write handler: never free the context here.
  auto* ac = const_cast<redisAsyncContext*>(cac);
  auto* self = static_cast<AsyncConnection*>(ac->data);
  if (status != REDIS_OK || self == nullptr) return;  // cleanup follows and reports
  const RedisUrl& url = self->options_.url;
  if (!url.password.empty()) {
    if (!url.user.empty()) {
      const char* argv[] = {"AUTH", url.user.c_str(), url.password.c_str()};
      const std::size_t len[] = {4, url.user.size(), url.password.size()};
      redisAsyncCommandArgv(ac, &AsyncConnection::on_handshake_reply,
                            reinterpret_cast<void*>(HandshakeStep::auth), 3, argv, len);
    } else {
      const char* argv[] = {"AUTH", url.password.c_str()};
      const std::size_t len[] = {4, url.password.size()};
      redisAsyncCommandArgv(ac, &AsyncConnection::on_handshake_reply,
                            reinterpret_cast<void*>(HandshakeStep::auth), 2, argv, len);
    }
  }
  if (url.db != 0) {
    const std::string db = std::to_string(url.db);
    const char* argv[] = {"SELECT", db.c_str()};
    const std::size_t len[] = {6, db.size()};
    redisAsyncCommandArgv(ac, &AsyncConnection::on_handshake_reply,
                          reinterpret_cast<void*>(HandshakeStep::select), 2, argv, len);
  }
  const char* argv[] = {"PING"};
  const std::size_t len[] = {4};
  redisAsyncCommandArgv(ac, &AsyncConnection::on_handshake_reply, reinterpret_cast<void*>(HandshakeStep::ping),
                        1, argv, len);
  // Mid-migration (ASK) the importing node is right though the map says
  // otherwise: only a connection on its own asks where its slot lives.
  self->checking_slots_ = self->routed() && !self->asking_;
  if (self->checking_slots_) {
    const char* slots_argv[] = {"CLUSTER", "SLOTS"};
    const std::size_t slots_len[] = {7, 5};
    redisAsyncCommandArgv(ac, &AsyncConnection::on_handshake_reply, reinterpret_cast<void*>(HandshakeStep::slots),
                          2, slots_argv, slots_len);
  }
}

void AsyncConnection::on_handshake_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  if (reply == nullptr) return;  // the context is being freed
  auto* self = static_cast<AsyncConnection*>(ac->data);
  self->handshake_reply(static_cast<HandshakeStep>(reinterpret_cast<std::uintptr_t>(privdata)),
                        static_cast<redisReply*>(reply));
}

void AsyncConnection::handshake_reply(HandshakeStep step, redisReply* reply) noexcept {
  if (step == HandshakeStep::slots) {
    // An error (a node in no cluster) leaves routing to the redirects.
    checking_slots_ = false;
    if (!route_by_slots(reply)) become_ready();
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    // Redis' own error text never echoes the password.
    const std::string text(reply->str, reply->len);
    fail(std::string(step == HandshakeStep::auth     ? "authentication failed: "
                     : step == HandshakeStep::select ? "SELECT failed: "
                                                     : "PING failed: ") +
         text);
    return;
  }
  if (step != HandshakeStep::ping || checking_slots_) return;
  become_ready();
}

bool AsyncConnection::route_by_slots(const redisReply* reply) noexcept {
  try {
    if (reply->type == REDIS_REPLY_ERROR || !slots_->load(reply, target_.host)) return false;
    auto at = slots_->owner(slot_);
    if (!at || *at == target_) return false;
    redirects_.fetch_add(1, std::memory_order_relaxed);
    const std::string why = "CLUSTER SLOTS: slot " + std::to_string(slot_) + " is at " + at->host + ":" +
                            std::to_string(at->port);
    redirect(std::move(*at), false, why);
    return true;
  } catch (...) {
    return false;
  }
}

void AsyncConnection::become_ready() noexcept {
  uv_timer_stop(&connect_timer_);
  ready_ = true;
  connected_.store(true, std::memory_order_relaxed);
  // A server that refuses our commands accepts connections all the same:
  // only a command that goes through ends a refusal (command_succeeded).
  if (!refusing()) {
    backoff_.reset();
    breaker_.record_success();
    log(LogLevel::info, options_.name + ": connected to " + where());
  }
  owner_.on_ready();
}

void AsyncConnection::on_poll(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<SocketWatch*>(handle->data);
  AsyncConnection* self = w->owner;
  redisAsyncContext* ac = w->ac;
  if (ac == nullptr) return;
  ++self->hiredis_depth_;
  if (status < 0) {
    // POLLERR (libuv reports it as a status and stops the handle). hiredis
    // finds the cause itself: the write handler checks SO_ERROR while
    // connecting, the read handler gets the reset afterwards.
    if ((ac->c.flags & REDIS_CONNECTED) == 0) {
      redisAsyncHandleWrite(ac);
    } else {
      redisAsyncHandleRead(ac);
    }
    --self->hiredis_depth_;
    self->owner_.on_replies_done();
    // If the context survived, nothing will wake us again on this socket.
    if (w->ac != nullptr) self->fail(std::string("socket error: ") + uv_strerror(status));
    return;
  }
  if ((events & UV_READABLE) != 0) redisAsyncHandleRead(ac);
  if ((events & UV_WRITABLE) != 0 && w->ac != nullptr) redisAsyncHandleWrite(ac);
  --self->hiredis_depth_;
  if ((events & UV_READABLE) != 0) self->owner_.on_replies_done();
}

void AsyncConnection::context_gone(redisAsyncContext* ac) noexcept {
  // Runs inside hiredis' cleanup hook: the context is valid until we return
  // but may not be used to send anything.
  const bool was_ready = ready_;
  const bool breaker_counted = std::exchange(breaker_counted_, false);
  std::string why = fail_reason_;
  if (why.empty()) {
    why = ac != nullptr && ac->c.errstr[0] != '\0' ? std::string(ac->c.errstr) : std::string("connection closed");
    why = was_ready ? "connection to " + where() + " lost: " + why : "connect to " + where() + " failed: " + why;
  }
  // A cluster node that cannot be reached: the next attempt asks the next
  // seed (a redirect has already set where the next attempt goes).
  if (!was_ready && !redirected_) next_seed();
  ac_ = nullptr;
  watch_ = nullptr;
  ready_ = false;
  outstanding_ = 0;
  connected_.store(false, std::memory_order_relaxed);
  uv_timer_stop(&connect_timer_);
  uv_timer_stop(&reply_timer_);
  if (closing_) return;
  // The reason first: whoever sees the failure count or the breaker move
  // (health(), from any thread) must find why already there.
  try {
    set_error(why);
  } catch (...) {
  }
  failures_.fetch_add(1, std::memory_order_release);
  if (!breaker_counted) breaker_.record_failure();
  // A server that stays away would log once per attempt; the first failure
  // and every tenth repeat are enough to see what is happening.
  // A refusal reconnects each time: log it when it changes, else as rarely.
  const unsigned repeats = backoff_.attempts();
  const bool same_refusal = refusing() && why == last_logged_;
  // A redirect was logged where it was made.
  if (!redirected_ && ((was_ready && !same_refusal) || repeats == 0 || repeats % 10 == 0)) {
    log(LogLevel::warning, options_.name + ": " + why + (same_refusal ? " (repeated)" : ""));
    try {
      last_logged_ = why;
    } catch (...) {
    }
  }
  owner_.on_down(why);
  schedule_retry();
}

void AsyncConnection::schedule_retry() noexcept {
  if (closing_) return;
  if (std::exchange(redirected_, false) && redirects_in_row_ <= 2) {
    // Following a redirect: the node named is up, go at once.
    uv_timer_start(&retry_timer_, &AsyncConnection::on_retry, 0, 0);
    return;
  }
  auto delay = backoff_.next();
  const auto open_left = std::chrono::ceil<std::chrono::milliseconds>(breaker_.remaining_open());
  delay = std::max(delay, open_left);
  uv_timer_start(&retry_timer_, &AsyncConnection::on_retry, static_cast<std::uint64_t>(delay.count()), 0);
}

void AsyncConnection::on_retry(uv_timer_t* timer) {
  auto* self = static_cast<AsyncConnection*>(timer->data);
  if (self->closing_ || self->ac_ != nullptr) return;
  if (!self->breaker_.allow()) {
    self->schedule_retry();
    return;
  }
  self->connect();
}

void AsyncConnection::on_connect_timeout(uv_timer_t* timer) {
  auto* self = static_cast<AsyncConnection*>(timer->data);
  if (self->ac_ == nullptr || self->ready_) return;
  self->fail("connect to " + self->where() + " timed out after " +
             std::to_string(self->options_.connect_timeout.count()) + " ms");
}

void AsyncConnection::arm_reply_timer(std::uint64_t deadline) noexcept {
  const std::uint64_t now = uv_now(loop_);
  uv_timer_start(&reply_timer_, &AsyncConnection::on_reply_timeout, deadline > now ? deadline - now : 0, 0);
}

void AsyncConnection::on_reply_timeout(uv_timer_t* timer) {
  auto* self = static_cast<AsyncConnection*>(timer->data);
  if (self->outstanding_ == 0 || self->ac_ == nullptr) return;
  // Replies re-arm lazily: each only moves the deadline, and the timer
  // checks it when it fires, which costs a reply nothing but a store.
  if (uv_now(self->loop_) < self->deadline_) {
    self->arm_reply_timer(self->deadline_);
    return;
  }
  self->reply_timeouts_.fetch_add(1, std::memory_order_relaxed);
  self->fail("no reply from " + self->where() + " within " +
             std::to_string(self->options_.reply_timeout.count()) + " ms");
}

void AsyncConnection::after_send(std::chrono::milliseconds allowance) noexcept {
  const std::uint64_t deadline =
      uv_now(loop_) + static_cast<std::uint64_t>(options_.reply_timeout.count() + allowance.count());
  if (outstanding_++ == 0) {
    deadline_ = deadline;
    arm_reply_timer(deadline_);
  } else {
    deadline_ = std::max(deadline_, deadline);
  }
}

bool AsyncConnection::send_asking() noexcept {
  // Its reply (+OK) is ours: it never reaches the owner.
  return redisAsyncCommand(
             ac_, [](redisAsyncContext*, void*, void*) {}, nullptr, "ASKING") == REDIS_OK;
}

bool AsyncConnection::send_formatted(std::string_view command, std::uintptr_t tag,
                                     std::chrono::milliseconds allowance) noexcept {
  if (!ready_ || ac_ == nullptr) return false;
  if (asking_ && !send_asking()) return false;
  if (redisAsyncFormattedCommand(ac_, &AsyncConnection::on_command_reply, reinterpret_cast<void*>(tag),
                                 command.data(), command.size()) != REDIS_OK) {
    return false;
  }
  after_send(allowance);
  return true;
}

bool AsyncConnection::send_argv(int argc, const char** argv, const std::size_t* lengths, std::uintptr_t tag,
                                std::chrono::milliseconds allowance) noexcept {
  if (!ready_ || ac_ == nullptr) return false;
  if (asking_ && !send_asking()) return false;
  if (redisAsyncCommandArgv(ac_, &AsyncConnection::on_command_reply, reinterpret_cast<void*>(tag), argc, argv,
                            lengths) != REDIS_OK) {
    return false;
  }
  after_send(allowance);
  return true;
}

void AsyncConnection::on_command_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  // A null reply means the context is being freed: on_down tells the owner.
  if (reply == nullptr) return;
  auto* self = static_cast<AsyncConnection*>(ac->data);
  auto* r = static_cast<redisReply*>(reply);
  if (self->outstanding_ > 0) --self->outstanding_;
  if (r->type != REDIS_REPLY_ERROR) {
    self->redirects_in_row_ = 0;
  } else if (self->options_.url.cluster && self->cluster_error(std::string_view(r->str, r->len))) {
    // Handled here for every owner: it sees the connection go down and come
    // up at the right node, as after any reconnect.
    return;
  }
  self->deadline_ =
      std::max(self->deadline_, uv_now(self->loop_) + static_cast<std::uint64_t>(self->options_.reply_timeout.count()));
  self->owner_.on_reply(reinterpret_cast<std::uintptr_t>(privdata), r);
}

void AsyncConnection::flush() noexcept {
  if (ac_ == nullptr) return;
  if (hiredis_depth_ > 0 || (ac_->c.flags & REDIS_IN_CALLBACK) != 0) {
    // Inside hiredis (a reply callback): redisAsyncHandleWrite may free the
    // context under its caller, but the plain buffer write cannot. A read
    // ahead sent from a reply handler then reaches Redis now, while the
    // handler works, instead of after it. A write error stays in the
    // context and the next poll turns it into a disconnect.
    if (ac_->c.err == 0) (void)redisBufferWrite(&ac_->c, nullptr);
    return;
  }
  ++hiredis_depth_;
  redisAsyncHandleWrite(ac_);
  --hiredis_depth_;
}

void AsyncConnection::fail(std::string why) noexcept {
  if (ac_ == nullptr) return;
  if (fail_reason_.empty()) fail_reason_ = std::move(why);
  // Inside a reply callback hiredis defers the free until the callback
  // returns; elsewhere (timers, our poll callback) it frees right away and
  // the cleanup hook runs context_gone().
  redisAsyncFree(ac_);
}

void AsyncConnection::refuse(std::string why) noexcept {
  if (ac_ == nullptr) return;
  // The breaker moves now, not when hiredis frees the context after this
  // callback: whoever sees refusing() must not find the breaker closed.
  if (!breaker_counted_) {
    try {
      set_error(why);  // the reason before the breaker moves, as in context_gone()
    } catch (...) {
    }
    breaker_.record_failure();
    breaker_counted_ = true;
  }
  refusing_.store(true, std::memory_order_relaxed);
  fail(std::move(why));
}

void AsyncConnection::command_succeeded() noexcept {
  if (!refusing()) return;
  refusing_.store(false, std::memory_order_relaxed);
  backoff_.reset();
  breaker_.record_success();
  log(LogLevel::info, options_.name + ": " + where() + " accepts commands again");
}

void AsyncConnection::redirect(Endpoint node, bool asking, std::string why) noexcept {
  if (ac_ == nullptr || options_.url.is_unix()) return;
  if (node.host.empty()) node.host = target_.host;
  const bool same = node == target_;
  target_ = std::move(node);
  asking_ = asking;
  ++redirects_in_row_;
  redirected_ = true;
  // Not a failure of the server: the breaker does not hear of it, and the
  // log says it once per move.
  breaker_counted_ = true;
  if (!same) log(LogLevel::info, options_.name + ": " + why + "; now " + where());
  try {
    if (fail_reason_.empty()) fail_reason_ = std::move(why);
  } catch (...) {
  }
  redisAsyncFree(ac_);
}

bool AsyncConnection::cluster_error(std::string_view text) noexcept {
  try {
    if (const auto moved = parse_redirect(text)) {
      redirects_.fetch_add(1, std::memory_order_relaxed);
      if (slots_ && moved->kind == Redirect::Kind::moved) {
        slots_->learn(moved->slot, moved->node.host.empty() ? Endpoint{target_.host, moved->node.port} : moved->node);
      }
      // Nothing sent after it on this connection runs either; the owner's
      // reconnect logic (recovery, positions) covers what did.
      redirect(moved->node, moved->kind == Redirect::Kind::ask,
               std::string(text.substr(0, text.find(' '))) + " slot " + std::to_string(moved->slot) + " to " +
                   (moved->node.host.empty() ? target_.host : moved->node.host) + ":" +
                   std::to_string(moved->node.port));
      return true;
    }
    if (is_transient_cluster_error(text)) {
      // A failover or migration under way: reconnect after the backoff.
      fail(std::string("Redis: ") + std::string(text));
      return true;
    }
  } catch (...) {
    fail("out of memory following a redirect");
    return true;
  }
  return false;
}

void AsyncConnection::next_seed() noexcept {
  if (!options_.url.cluster || options_.url.seeds.empty()) return;
  // From a redirect's node back to the seeds, else on to the next seed.
  asking_ = false;
  // Where the map says the slot is now, unless that is the node that just
  // failed (then the seeds, which learn of the failover first).
  try {
    if (slots_) {
      if (auto at = slots_->owner(slot_); at && !(*at == target_)) {
        target_ = std::move(*at);
        return;
      }
    }
  } catch (...) {
  }
  const auto& seeds = options_.url.seeds;
  if (target_ == seeds[seed_index_ % seeds.size()]) seed_index_ = (seed_index_ + 1) % seeds.size();
  try {
    target_ = seeds[seed_index_ % seeds.size()];
  } catch (...) {
  }
  asking_ = false;
}

std::string AsyncConnection::where() const {
  if (!options_.url.cluster) return options_.url.redacted();
  return options_.url.at(target_).redacted();
}

void AsyncConnection::close(std::function<void()> closed) noexcept {
  closing_ = true;
  closed_callback_ = std::move(closed);
  if (ac_ != nullptr) {
    fail_reason_ = "closed";
    redisAsyncFree(ac_);
  }
  for (uv_timer_t* t : {&connect_timer_, &reply_timer_, &retry_timer_}) {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(t))) {
      uv_close(reinterpret_cast<uv_handle_t*>(t),
               [](uv_handle_t* h) { static_cast<AsyncConnection*>(h->data)->handle_closed(); });
    }
  }
}

void AsyncConnection::handle_closed() noexcept {
  if (--open_handles_ == 0 && closed_callback_) {
    auto cb = std::move(closed_callback_);
    closed_callback_ = nullptr;
    try {
      cb();
    } catch (...) {
      log(LogLevel::error, options_.name + ": close callback threw");
    }
  }
}

}  // namespace tradpal::redis
