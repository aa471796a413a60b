#include "tools/router/target_writer.h"

#include <hiredis/hiredis.h>

namespace tradpal::router {
namespace {

// KEYS[1] the target, KEYS[i] (i > 1) a copy's dedup key, ARGV[1] the TTL in
// seconds, ARGV[i] the copy's event JSON. Returns how many were written.
constexpr std::string_view kScript = R"lua(
local written = 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 'event', ARGV[i])
    written = written + 1
  end
end
return written
)lua";

// Copies per EVAL: large enough to amortise the round trip, small enough
// that one script does not hold Redis up for long.
constexpr std::size_t kChunk = 256;

// Redis Cluster's hash tag: the text between the first '{' and the first
// '}' after it, when not empty; otherwise the whole name hashes.
std::string_view hash_tag(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

}  // namespace

TargetWriter::TargetWriter(const redis::RedisUrl& url, std::string target, std::chrono::seconds dedup_ttl)
    : target_(std::move(target)),
      ttl_(std::to_string(dedup_ttl.count())),
      client_(std::make_unique<redis::SyncClient>(url, std::chrono::milliseconds(5000), target_)) {}

std::string TargetWriter::dedup_key(std::string_view target, std::string_view event_id) {
  std::string key = "{";
  key += hash_tag(target);
  key += "}:routed:";
  key += event_id;
  return key;
}

void TargetWriter::add(std::string_view event_id, std::string event_json) {
  keys_.push_back(dedup_key(target_, event_id));
  payloads_.push_back(std::move(event_json));
}

TargetWriter::Written TargetWriter::flush() {
  Written w;
  std::vector<std::string> keys;
  std::vector<std::string> payloads;
  keys.swap(keys_);
  payloads.swap(payloads_);
  std::vector<std::string_view> args;
  for (std::size_t at = 0; at < keys.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, keys.size() - at);
    args.clear();
    args.push_back("EVAL");
    args.push_back(kScript);
    const std::string numkeys = std::to_string(n + 1);
    args.push_back(numkeys);
    args.push_back(target_);
    for (std::size_t i = 0; i < n; ++i) args.push_back(keys[at + i]);
    args.push_back(ttl_);
    for (std::size_t i = 0; i < n; ++i) args.push_back(payloads[at + i]);
    redis::ReplyPtr r = client_->command(args);
    if (r->type != REDIS_REPLY_INTEGER) {
      throw redis::RedisError("copy to " + target_ + ": " +
                              (r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply"));
    }
    w.copies += static_cast<std::size_t>(r->integer);
    w.duplicates += n - static_cast<std::size_t>(r->integer);
  }
  return w;
}

}  // namespace tradpal::router
