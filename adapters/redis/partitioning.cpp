#include "adapters/redis/partitioning.h"

#include <simdjson.h>

#include <array>

#include "adapters/redis/redis_url.h"
#include "engine/json.h"

namespace tradpal::redis {
namespace {

// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[i] = crc;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

std::uint16_t crc16(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (const char c : bytes) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  }
  return crc;
}

std::uint64_t fnv1a(std::string_view bytes) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// The key's value at `pointer` in one JSON object: a string's text or a
// number's literal; false when absent, of another kind or unreadable.
bool read_key(simdjson::ondemand::parser& parser, const char* json, std::size_t size, std::size_t capacity,
              const std::string& pointer, std::string& out) noexcept {
  auto doc = parser.iterate(json, size, capacity);
  if (doc.error() != simdjson::SUCCESS) return false;
  auto value = doc.value_unsafe().at_pointer(pointer);
  if (value.error() != simdjson::SUCCESS) return false;
  simdjson::ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) return false;
    out.assign(text);
    return true;
  }
  if (type == simdjson::ondemand::json_type::number) {
    std::string_view token = value.raw_json_token().value_unsafe();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                              token.back() == '\t')) {
      token.remove_suffix(1);
    }
    out.assign(token);
    return true;
  }
  return false;
}

}  // namespace

std::string_view hash_tag(std::string_view key) noexcept {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) return key.substr(open + 1, close - open - 1);
  }
  return key;
}

std::uint16_t key_slot(std::string_view key) noexcept {
  return static_cast<std::uint16_t>(crc16(hash_tag(key)) & (kClusterSlots - 1));
}

Partitioning::Partitioning(std::string stream, PartitionOptions options)
    : base_(std::move(stream)), options_(std::move(options)) {
  if (options_.count == 0 || options_.count > PartitionOptions::kMaxCount) {
    throw ConfigError("partitions: the count must be 1 to " + std::to_string(PartitionOptions::kMaxCount));
  }
  if (base_.empty()) throw ConfigError("partitions: empty stream name");
  if (options_.count > 1 && base_.find('{') != std::string::npos) {
    throw ConfigError("partitions: the stream name '" + base_ +
                      "' carries a hash tag, so every partition would share one slot");
  }
  const std::string& key = options_.key;
  std::string path;
  if (key == "type") {
    kind_ = KeyKind::type;
  } else if (key == "source") {
    kind_ = KeyKind::source;
  } else if (key.starts_with("data.") && key.size() > 5) {
    kind_ = KeyKind::data_path;
    path = key.substr(5);
  } else if (key.starts_with("metadata.") && key.size() > 9) {
    kind_ = KeyKind::metadata_path;
    path = key.substr(9);
  } else {
    throw ConfigError("partitions: the key '" + key +
                      "' is none of type, source, data.<path> or metadata.<path>");
  }
  // data.a.b is the JSON pointer /a/b ('~' and '/' escaped as the RFC says).
  if (!path.empty()) {
    pointer_.assign(1, '/');
    for (const char c : path) {
      if (c == '.') {
        if (pointer_.back() == '/') throw ConfigError("partitions: the key '" + key + "' has an empty path step");
        pointer_.push_back('/');
      } else if (c == '~') {
        pointer_.append({'~', '0'});
      } else if (c == '/') {
        pointer_.append({'~', '1'});
      } else {
        pointer_.push_back(c);
      }
    }
    if (pointer_.back() == '/') throw ConfigError("partitions: the key '" + key + "' has an empty path step");
  }

  const std::size_t n = options_.count;
  if (n == 1) {
    streams_.push_back(base_);
    return;
  }
  streams_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t low = i * kClusterSlots / n;
    const std::size_t high = (i + 1) * kClusterSlots / n;  // exclusive
    // Built with append: GCC 12 warns falsely (-Wrestrict) on chains of +.
    std::string name;
    for (std::size_t k = 0;; ++k) {
      name.assign(base_).append(":{p").append(std::to_string(i));
      if (k != 0) name.append(".").append(std::to_string(k));
      name.append("}");
      const std::uint16_t slot = key_slot(name);
      if (slot >= low && slot < high) break;
    }
    streams_.push_back(std::move(name));
  }
}

std::size_t Partitioning::partition_of_key(std::string_view key) const noexcept {
  return static_cast<std::size_t>(fnv1a(key) % streams_.size());
}

std::size_t Partitioning::partition_of(const EventView& view) const noexcept {
  if (streams_.size() == 1) return 0;
  switch (kind_) {
    case KeyKind::type:
      return partition_of_key(to_string(view.type()));
    case KeyKind::source:
      return partition_of_key(view.source());
    case KeyKind::data_path:
    case KeyKind::metadata_path:
      break;
  }
  // One parser and one key buffer per thread: no allocation once warm.
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string key;
  const bool data = kind_ == KeyKind::data_path;
  const std::string_view json = data ? view.data() : view.metadata();
  const std::size_t capacity = data ? view.data_capacity() : view.metadata_capacity();
  bool found = false;
  try {
    found = read_key(parser, json.data(), json.size(), capacity, pointer_, key);
  } catch (...) {
    found = false;  // the parser could not grow its buffers
  }
  return partition_of_key(found ? std::string_view(key) : to_string(view.type()));
}

std::size_t Partitioning::partition_of(std::string_view type, std::string_view source, std::string_view data,
                                       std::string_view metadata) const {
  if (streams_.size() == 1) return 0;
  switch (kind_) {
    case KeyKind::type:
      return partition_of_key(type);
    case KeyKind::source:
      return partition_of_key(source);
    case KeyKind::data_path:
    case KeyKind::metadata_path:
      break;
  }
  const simdjson::padded_string padded(kind_ == KeyKind::data_path ? data : metadata);
  simdjson::ondemand::parser parser;
  std::string key;
  const bool found = read_key(parser, padded.data(), padded.size(), padded.size() + simdjson::SIMDJSON_PADDING,
                              pointer_, key);
  return partition_of_key(found ? std::string_view(key) : type);
}

}  // namespace tradpal::redis
