#include "engine/event_json.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "engine/json.h"
#include "engine/detail/json_value.h"

namespace tradpal {
namespace {

constexpr std::size_t kEnvelopeBytes = 200;
constexpr std::size_t longest_type_name() {
  std::size_t n = 0;
  for (const auto name : kEventTypeNames) n = std::max(n, name.size());
  return n;
}
// {"event_type": "T", "event_id": "U", "timestamp": "S", "source": Q, "data": D, "metadata": M}
static_assert(16 + longest_type_name() + 16 + Uuid::kTextSize + 17 + kIsoTimestampSize + 12 + 10 + 14 + 1 <=
              kEnvelopeBytes);

void append_wire(std::string& out, EventType type, const Uuid& id, TimestampNs ts, std::string_view source,
                 std::string_view data, std::string_view metadata) {
  char id_text[Uuid::kTextSize];
  id.format(id_text);
  char ts_text[kIsoTimestampSize];
  format_iso_timestamp(ts, ts_text);
  // The exact size is the envelope (under 200 bytes with the longest type
  // name), the quoted source and the two objects. Reserving less would
  // make the string double its capacity on the last append.
  out.reserve(out.size() + kEnvelopeBytes + quoted_size(source) + data.size() + metadata.size());
  out += R"({"event_type": ")";
  out += to_string(type);
  out += R"(", "event_id": ")";
  out.append(id_text, sizeof id_text);
  out += R"(", "timestamp": ")";
  out.append(ts_text, sizeof ts_text);
  out += R"(", "source": )";
  append_quoted(out, source);
  out += R"(, "data": )";
  out += trim_json(data);
  out += R"(, "metadata": )";
  out += trim_json(metadata);
  out += '}';
}

// One thread's decoder: the parser and the padded copy of the text it reads.
// Both only grow, so after the first few events a decode allocates nothing.
class Decoder {
 public:
  // Copies `json` into the buffer, zero padding after it, and starts
  // iterating the copy.
  simdjson::error_code iterate(std::string_view json, simdjson::ondemand::document& doc) {
    const std::size_t need = json.size() + simdjson::SIMDJSON_PADDING;
    if (need > capacity_) {
      const std::size_t grown = std::max(need, 2 * capacity_);
      buffer_ = std::make_unique<char[]>(grown);
      capacity_ = grown;
    }
    if (!json.empty()) std::memcpy(buffer_.get(), json.data(), json.size());
    std::memset(buffer_.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    return parser_.iterate(buffer_.get(), json.size(), capacity_).get(doc);
  }

 private:
  simdjson::ondemand::parser parser_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
};

// Reads data or metadata, which must be an object, validating every value
// below it; `raw` is its text as it stands in the buffer (up to the next
// token, as ondemand::object::raw_json() would give it).
DecodeError read_object(simdjson::ondemand::document& doc, simdjson::ondemand::value value,
                        std::string_view& raw) noexcept {
  simdjson::ondemand::json_type type;
  if (value.type().get(type)) return DecodeError::not_json;
  if (type != simdjson::ondemand::json_type::object) {
    return detail::is_valid_json_value(value, 1) ? DecodeError::data_not_object : DecodeError::not_json;
  }
  const char* begin = value.raw_json_token().data();
  // Depth 1: the object sits one level below the root for kMaxJsonDepth.
  if (!detail::is_valid_json_value(value, 1)) return DecodeError::not_json;
  // The root object is still open, so a token follows and the location is
  // inside the buffer.
  const char* end = nullptr;
  if (doc.current_location().get(end)) return DecodeError::not_json;
  raw = std::string_view(begin, static_cast<std::size_t>(end - begin));
  return DecodeError::none;
}

}  // namespace

std::string_view to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::none: return "none";
    case DecodeError::not_json: return "not_json";
    case DecodeError::missing_field: return "missing_field";
    case DecodeError::unknown_event_type: return "unknown_event_type";
    case DecodeError::bad_event_id: return "bad_event_id";
    case DecodeError::bad_timestamp: return "bad_timestamp";
    case DecodeError::data_not_object: return "data_not_object";
  }
  return "unknown";
}

void append_event_json(std::string& out, const EventView& v) {
  append_wire(out, v.type(), v.event_id(), v.timestamp_ns(), v.source(), v.data(), v.metadata());
}

void append_event_json(std::string& out, const Event& e) {
  append_wire(out, e.type, e.event_id, e.timestamp_ns, e.source, e.data, e.metadata);
}

void append_event_json(std::string& out, const EventFields& f) {
  append_wire(out, f.type, f.event_id, f.timestamp_ns, f.source, f.data, f.metadata);
}

std::string event_json(const Event& event) {
  std::string out;
  append_event_json(out, event);
  return out;
}

DecodeError decode_event_view(std::string_view json, EventFields& out) {
  thread_local Decoder decoder;
  simdjson::ondemand::document doc;
  if (decoder.iterate(json, doc)) return DecodeError::not_json;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return DecodeError::not_json;

  // One pass that validates while it extracts: every value is read once,
  // known or not, because On-Demand checks only what it reads (a skipped
  // `tru` would pass). Invalid JSON anywhere wins over every other error, so
  // the first semantic error is kept and returned only once the whole text
  // has proved to be JSON.
  DecodeError first_error = DecodeError::none;
  auto note = [&](DecodeError e) {
    if (first_error == DecodeError::none) first_error = e;
  };
  bool have_type = false, have_id = false, have_ts = false;
  bool have_source = false, have_data = false, have_metadata = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return DecodeError::not_json;
    simdjson::ondemand::value value;
    if (field.value().get(value)) return DecodeError::not_json;
    if (key == "event_type" || key == "event_id" || key == "timestamp" || key == "source") {
      std::string_view s;
      const auto err = value.get_string().get(s);
      if (err == simdjson::INCORRECT_TYPE) {
        // Not a string: still JSON to be read through.
        if (!detail::is_valid_json_value(value, 1)) return DecodeError::not_json;
        note(DecodeError::missing_field);
        continue;
      }
      if (err) return DecodeError::not_json;
      if (key == "event_type") {
        const auto t = parse_event_type(s);
        if (!t) {
          note(DecodeError::unknown_event_type);
          continue;
        }
        out.type = *t;
        have_type = true;
      } else if (key == "event_id") {
        const auto id = Uuid::parse(s);
        if (!id) {
          note(DecodeError::bad_event_id);
          continue;
        }
        out.event_id = *id;
        have_id = true;
      } else if (key == "timestamp") {
        const auto ts = parse_iso_timestamp(s);
        if (!ts) {
          note(DecodeError::bad_timestamp);
          continue;
        }
        out.timestamp_ns = *ts;
        have_ts = true;
      } else {
        // Unescaped into the parser's string buffer: valid until the next
        // iterate on this thread.
        out.source = s;
        have_source = true;
      }
    } else if (key == "data" || key == "metadata") {
      const bool is_data = key == "data";
      const DecodeError e = read_object(doc, value, is_data ? out.data : out.metadata);
      if (e == DecodeError::not_json) return e;
      if (e != DecodeError::none) {
        note(e);
        continue;
      }
      (is_data ? have_data : have_metadata) = true;
    } else if (!detail::is_valid_json_value(value, 1)) {
      // Extra keys from newer producers are allowed, but must be JSON.
      return DecodeError::not_json;
    }
  }
  if (!fully_consumed(doc)) return DecodeError::not_json;
  if (first_error != DecodeError::none) return first_error;
  if (!have_type || !have_id || !have_ts || !have_source || !have_data || !have_metadata) {
    return DecodeError::missing_field;
  }
  return DecodeError::none;
}

Event to_event(const EventFields& fields) {
  Event ev;
  ev.type = fields.type;
  ev.event_id = fields.event_id;
  ev.timestamp_ns = fields.timestamp_ns;
  ev.source.assign(fields.source);
  ev.data.assign(fields.data);
  ev.metadata.assign(fields.metadata);
  return ev;
}

std::optional<Event> decode_event_json(std::string_view json, DecodeError* error) {
  EventFields fields;
  const DecodeError e = decode_event_view(json, fields);
  if (error != nullptr) *error = e;
  if (e != DecodeError::none) return std::nullopt;
  return to_event(fields);
}

}  // namespace tradpal
