#include "adapters/redis/sync_client.h"

#include <algorithm>
#include <cerrno>
#include <thread>

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include "adapters/redis/cluster_redirect.h"
#include "adapters/redis/partitioning.h"
#include "adapters/redis/sigpipe.h"

namespace tradpal::redis {

void ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

SyncClient::SyncClient(RedisUrl url, std::chrono::milliseconds timeout, std::string route_key)
    : url_(std::move(url)), timeout_(timeout) {
  ignore_sigpipe();
  node_ = Endpoint{url_.host, url_.port};
  if (url_.cluster && !route_key.empty()) {
    slots_ = SlotMap::for_cluster(url_);
    slot_ = key_slot(route_key);
  }
  connect();
}

std::string SyncClient::where() const { return url_.cluster ? url_.at(node_).redacted() : url_.redacted(); }

void SyncClient::connect() {
  if (!url_.cluster) {
    connect_to(node_);
    return;
  }
  // The node we were on first, then every seed in turn: any node of the
  // cluster redirects us to the right one.
  std::string errors;
  std::vector<Endpoint> tries;
  if (slots_) {
    if (auto at = slots_->owner(slot_); at && !(*at == node_)) tries.push_back(std::move(*at));
  }
  tries.push_back(node_);
  for (const Endpoint& seed : url_.seeds) {
    if (std::find(tries.begin(), tries.end(), seed) == tries.end()) tries.push_back(seed);
  }
  for (const Endpoint& node : tries) {
    try {
      connect_to(node);
      return;
    } catch (const RedisError& e) {
      if (!errors.empty()) errors += "; ";
      errors += e.what();
    }
  }
  throw RedisError("no node of " + url_.redacted() + " answers: " + errors);
}

SyncClient::~SyncClient() {
  if (context_ != nullptr) redisFree(context_);
}

void SyncClient::connect_to(const Endpoint& node) {
  node_ = node;
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout_.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout_.count() % 1000) * 1000);
  redisContext* c = url_.is_unix() ? redisConnectUnixWithTimeout(url_.unix_path.c_str(), tv)
                                   : redisConnectWithTimeout(node_.host.c_str(), node_.port, tv);
  if (c == nullptr) throw RedisError("connect to " + where() + " failed: out of memory");
  if (c->err != 0) {
    std::string why = "connect to " + where() + " failed: " + c->errstr;
    redisFree(c);
    throw RedisError(why);
  }
  redisSetTimeout(c, tv);
  context_ = c;
  auto handshake = [&](std::vector<std::string_view> args, const char* what) {
    ReplyPtr r = command(args);
    if (r->type == REDIS_REPLY_ERROR) {
      std::string why = std::string(what) + " on " + where() + " failed: " + std::string(r->str, r->len);
      redisFree(context_);
      context_ = nullptr;
      throw RedisError(why);
    }
  };
  if (!url_.password.empty()) {
    if (!url_.user.empty()) {
      handshake({"AUTH", url_.user, url_.password}, "authentication");
    } else {
      handshake({"AUTH", url_.password}, "authentication");
    }
  }
  if (url_.db != 0) {
    const std::string db = std::to_string(url_.db);
    handshake({"SELECT", db}, "SELECT");
  }
}

ReplyPtr SyncClient::run(int argc, const char** argv, const std::size_t* lengths) {
  closed_by_peer_ = false;
  if (context_ == nullptr) connect();
  auto* r = static_cast<redisReply*>(redisCommandArgv(context_, argc, argv, lengths));
  if (r == nullptr) {
    std::string why = "command on " + where() + " failed: " +
                      (context_->errstr[0] != '\0' ? std::string(context_->errstr) : std::string("no reply"));
    // Closed by the server, as opposed to slow (a timeout): see command().
    closed_by_peer_ = context_->err == REDIS_ERR_EOF ||
                      (context_->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE));
    // The connection's state is unknown after an I/O error: start afresh.
    redisFree(context_);
    context_ = nullptr;
    throw RedisError(why);
  }
  return ReplyPtr(r);
}

namespace {

// Commands that change nothing, so sending one again cannot duplicate an
// effect.
bool read_only(std::string_view name) noexcept {
  constexpr std::string_view kReads[] = {"XRANGE", "XREVRANGE", "XLEN",  "XINFO", "XPENDING",
                                         "PING",   "INFO",      "EXISTS", "TYPE", "GET"};
  for (std::string_view r : kReads) {
    if (name.size() == r.size() && std::equal(name.begin(), name.end(), r.begin(), [](char a, char b) {
          return (a >= 'a' && a <= 'z' ? a - 32 : a) == b;
        })) {
      return true;
    }
  }
  return false;
}

}  // namespace

ReplyPtr SyncClient::command(const std::vector<std::string_view>& args) {
  if (!url_.cluster) return follow(args);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (int hops = 0;; ++hops) {
    ReplyPtr r = follow(args);
    if (r->type != REDIS_REPLY_ERROR) return r;
    const std::string_view text(r->str, r->len);
    if (const auto redirect = parse_redirect(text); redirect && hops < 5) {
      // Not executed where it was sent: it goes where the cluster says.
      Endpoint node = redirect->node;
      if (node.host.empty()) node.host = node_.host;
      if (slots_ && redirect->kind == Redirect::Kind::moved) slots_->learn(redirect->slot, node);
      connect_to(node);
      if (redirect->kind == Redirect::Kind::ask) {
        ReplyPtr asking = send({"ASKING"});
        if (asking->type == REDIS_REPLY_ERROR) return asking;
        return send(args);
      }
      continue;
    }
    if (is_transient_cluster_error(text) && std::chrono::steady_clock::now() < deadline) {
      // A failover or a migration: not executed, and soon over.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (context_ != nullptr) {
        redisFree(context_);
        context_ = nullptr;
      }
      continue;
    }
    return r;
  }
}

ReplyPtr SyncClient::follow(const std::vector<std::string_view>& args) {
  // A connection that sat idle may have been closed by the server meanwhile
  // (a Redis restart, a timeout): a read that fails on a reused connection
  // goes out once more on a fresh one, so the caller sees an error only
  // when Redis is really unavailable. Writes are never sent twice.
  const bool reused = context_ != nullptr;
  if (reused && !args.empty() && read_only(args.front())) {
    try {
      return send(args);
    } catch (const RedisError&) {
      if (!closed_by_peer_) throw;  // slow or refused, not a stale connection
    }
  }
  return send(args);
}

ReplyPtr SyncClient::send(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> len;
  argv.reserve(args.size());
  len.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    len.push_back(a.size());
  }
  return run(static_cast<int>(argv.size()), argv.data(), len.data());
}

ReplyPtr SyncClient::command(std::initializer_list<std::string_view> args) {
  return command(std::vector<std::string_view>(args));
}

ReplyPtr SyncClient::command(const std::vector<std::string>& args) {
  return command(std::vector<std::string_view>(args.begin(), args.end()));
}

void SyncClient::append(const std::vector<std::string_view>& args) {
  if (context_ == nullptr) connect();
  std::vector<const char*> argv;
  std::vector<std::size_t> len;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    len.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), len.data()) != REDIS_OK) {
    throw RedisError("cannot queue a command for " + where());
  }
}

ReplyPtr SyncClient::get_reply() {
  if (context_ == nullptr) throw RedisError("no connection to " + where());
  void* r = nullptr;
  if (redisGetReply(context_, &r) != REDIS_OK || r == nullptr) {
    std::string why = "reading a reply from " + where() + " failed: " +
                      (context_->errstr[0] != '\0' ? std::string(context_->errstr) : std::string("no reply"));
    redisFree(context_);
    context_ = nullptr;
    throw RedisError(why);
  }
  return ReplyPtr(static_cast<redisReply*>(r));
}

void SyncClient::reset() noexcept {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

void SyncClient::flush() {
  if (context_ == nullptr) throw RedisError("no connection to " + where());
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      std::string why = "writing to " + where() + " failed: " +
                        (context_->errstr[0] != '\0' ? std::string(context_->errstr) : std::string("unknown error"));
      redisFree(context_);
      context_ = nullptr;
      throw RedisError(why);
    }
  }
}

ReplyPtr SyncClient::checked(std::initializer_list<std::string_view> args) {
  ReplyPtr r = command(args);
  if (r->type == REDIS_REPLY_ERROR) {
    throw RedisError(std::string(*args.begin()) + " failed: " + std::string(r->str, r->len));
  }
  return r;
}

}  // namespace tradpal::redis
