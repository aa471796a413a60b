// tests/adapters/redis/test_support.h
//
// Helpers shared by the Redis integration tests: options pointing at a
// RedisServer with short timeouts (so fault tests finish in seconds), and
// reading a whole stream back with a blocking client, and the recorded
// fixture entries (tests/fixtures/*.jsonl) written raw into a stream.
#pragma once

#include <hiredis/hiredis.h>

#include <simdjson.h>

#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "adapters/redis/async_connection.h"
#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/sync_client.h"
#include "redis_server.h"

namespace tradpal::testing {

inline redis::ConnectionOptions fast_connection(const std::string& url) {
  redis::ConnectionOptions c;
  c.url = redis::RedisUrl::parse(url);
  c.connect_timeout = std::chrono::milliseconds(400);
  c.reply_timeout = std::chrono::milliseconds(400);
  c.backoff = {.initial = std::chrono::milliseconds(20), .max = std::chrono::milliseconds(200)};
  c.breaker = {.failure_threshold = 1, .open_for = std::chrono::milliseconds(100)};
  return c;
}

// Every entry of `stream` as (id, value of the `event` field).
inline std::vector<std::pair<std::string, std::string>> read_stream(const std::string& url, const std::string& stream) {
  redis::SyncClient client(redis::RedisUrl::parse(url));
  std::vector<std::pair<std::string, std::string>> out;
  std::string start = "-";
  for (;;) {
    auto r = client.command({"XRANGE", stream, start, "+", "COUNT", "1000"});
    if (r->type != REDIS_REPLY_ARRAY) break;
    for (std::size_t i = 0; i < r->elements; ++i) {
      const std::string id(redis::entry_id(r->element[i]));
      const auto ev = redis::event_field(r->element[i]->element[1]);
      out.emplace_back(id, ev ? std::string(*ev) : std::string());
      start = "(" + id;
    }
    if (r->elements < 1000) break;
  }
  return out;
}

// The fields of one XRANGE entry ([id, [field, value, ...]]) by name.
inline std::map<std::string, std::string> entry_fields(const redisReply* entry) {
  std::map<std::string, std::string> fields;
  const redisReply* f = entry->element[1];
  for (std::size_t i = 0; i + 1 < f->elements; i += 2) fields[f->element[i]->str] = f->element[i + 1]->str;
  return fields;
}

// The event_id inside an event JSON we wrote (fixed layout: cheap to find).
inline std::string event_id_of(const std::string& json) {
  const auto p = json.find("\"event_id\": \"");
  return p == std::string::npos ? std::string() : json.substr(p + 13, 36);
}

// One line of a tests/fixtures stream recording.
struct FixtureEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string expect;  // edge file: "accept" or "skip-and-count"
  std::string why;
};

inline std::vector<FixtureEntry> load_fixture(const std::string& name) {
  std::ifstream in(std::string(TRADPAL_FIXTURES_DIR) + "/" + name);
  std::vector<FixtureEntry> out;
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    simdjson::dom::element doc = parser.parse(line);
    FixtureEntry e;
    e.id = std::string(std::string_view(doc["id"]));
    for (auto [k, v] : simdjson::dom::object(doc["fields"])) e.fields.emplace_back(k, std::string_view(v));
    if (auto x = doc["expect"]; !x.error()) e.expect = std::string(std::string_view(x));
    if (auto x = doc["why"]; !x.error()) e.why = std::string(std::string_view(x));
    out.push_back(std::move(e));
  }
  if (out.empty()) throw std::runtime_error("no fixture entries in " + name);
  return out;
}

// XADD of a fixture entry as recorded (its id and fields); throws on refusal.
inline void add_raw(redis::SyncClient& c, const std::string& stream, const FixtureEntry& e) {
  std::vector<std::string> args = {"XADD", stream, e.id};
  for (const auto& [k, v] : e.fields) {
    args.push_back(k);
    args.push_back(v);
  }
  auto r = c.command(args);
  if (r->type != REDIS_REPLY_STRING) {
    throw std::runtime_error("XADD " + e.id + " refused: " + (r->str != nullptr ? std::string(r->str) : ""));
  }
}

}  // namespace tradpal::testing
