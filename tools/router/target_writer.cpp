#include "tools/router/target_writer.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>

#include "adapters/redis/partitioning.h"

namespace tradpal::router {
namespace {

// KEYS: the target, the current dedup set, the previous one.
// ARGV: the current set's lifetime in seconds, n, then n event ids, then
// their n copies' event JSON. Returns how many were written.
constexpr std::string_view kScript = R"lua(
local n = tonumber(ARGV[2])
local now = redis.call('SMISMEMBER', KEYS[2], unpack(ARGV, 3, 2 + n))
local before = redis.call('SMISMEMBER', KEYS[3], unpack(ARGV, 3, 2 + n))
local seen = {}
local written = {}
local target = KEYS[1]
local xadd = redis.call
for i = 1, n do
  local id = ARGV[2 + i]
  if now[i] == 0 and before[i] == 0 and not seen[id] then
    seen[id] = true
    xadd('XADD', target, '*', 'event', ARGV[2 + n + i])
    written[#written + 1] = id
  end
end
if #written > 0 then
  redis.call('SADD', KEYS[2], unpack(written))
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return #written
)lua";

// Copies per script: large enough to amortise the call, small enough that
// one script does not hold Redis up for long (and within Lua's unpack limit).
constexpr std::size_t kChunk = 256;

bool is_redirect(const redisReply* r) noexcept {
  if (r->type != REDIS_REPLY_ERROR) return false;
  const std::string_view text(r->str, r->len);
  return text.rfind("MOVED ", 0) == 0 || text.rfind("ASK ", 0) == 0;
}

}  // namespace

TargetWriter::TargetWriter(const redis::RedisUrl& url, std::string target, std::chrono::seconds dedup_ttl)
    : target_(std::move(target)),
      ttl_s_(std::max<std::int64_t>(1, dedup_ttl.count())),
      lifetime_(std::to_string(2 * ttl_s_)),
      client_(std::make_unique<redis::SyncClient>(url, std::chrono::milliseconds(5000), target_)) {}

std::string TargetWriter::dedup_set(std::string_view target, std::int64_t n) {
  std::string key = "{";
  key += redis::hash_tag(target);
  key += "}:routed:";
  key += std::to_string(n);
  return key;
}

void TargetWriter::add(std::string_view event_id, std::string_view event_json) {
  ids_.push_back(event_id);
  payloads_.push_back(event_json);
}

void TargetWriter::clear() noexcept {
  ids_.clear();
  payloads_.clear();
  synced_.clear();
  if (!in_flight_.empty()) {
    // Replies not read would be taken for the next ones: drop the
    // connection with them (it reconnects on next use).
    in_flight_.clear();
    client_->reset();
  }
}

void TargetWriter::send() {
  if (ids_.empty()) return;
  const std::int64_t bucket =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() /
      ttl_s_;
  const std::string current = dedup_set(target_, bucket);
  const std::string previous = dedup_set(target_, bucket - 1);
  std::vector<std::string_view> args;
  args.reserve(8 + 2 * kChunk);
  for (std::size_t at = 0; at < ids_.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, ids_.size() - at);
    const std::string count = std::to_string(n);
    const auto first = static_cast<std::ptrdiff_t>(at);
    const auto last = static_cast<std::ptrdiff_t>(at + n);
    // Element by element: GCC 12 warns falsely (-Wstringop-overflow) on
    // inserting an initializer list here.
    args.clear();
    for (const std::string_view a : std::array<std::string_view, 8>{"EVAL", kScript, "3", target_, current, previous,
                                                                     lifetime_, count}) {
      args.push_back(a);
    }
    args.insert(args.end(), ids_.begin() + first, ids_.begin() + last);
    args.insert(args.end(), payloads_.begin() + first, payloads_.begin() + last);
    if (follow_redirect_) {
      // The slot moved: command() follows the redirect and stays on the
      // new node; its reply is kept for receive().
      follow_redirect_ = false;
      redis::ReplyPtr r = client_->command(args);
      if (r->type != REDIS_REPLY_INTEGER) {
        clear();
        throw redis::RedisError("copy to " + target_ + ": " +
                                (r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply"));
      }
      synced_.push_back({n, static_cast<std::size_t>(r->integer)});
      continue;
    }
    client_->append(args);
    in_flight_.push_back(n);
  }
  ids_.clear();
  payloads_.clear();
  client_->flush();
}

TargetWriter::Written TargetWriter::receive() {
  Written w;
  for (const auto& [n, written] : synced_) {
    w.copies += written;
    w.duplicates += n - written;
  }
  synced_.clear();
  std::string error;
  for (const std::size_t n : in_flight_) {
    redis::ReplyPtr r = client_->get_reply();
    if (r->type == REDIS_REPLY_INTEGER) {
      w.copies += static_cast<std::size_t>(r->integer);
      w.duplicates += n - static_cast<std::size_t>(r->integer);
      continue;
    }
    if (is_redirect(r.get())) follow_redirect_ = true;
    if (error.empty()) {
      error = r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : std::string("unexpected reply");
    }
  }
  in_flight_.clear();
  if (!error.empty()) throw redis::RedisError("copy to " + target_ + ": " + error);
  return w;
}

}  // namespace tradpal::router
