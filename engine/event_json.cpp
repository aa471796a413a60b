#include "engine/event_json.h"

#include <simdjson.h>

#include "engine/json.h"

namespace tradpal {
namespace {

void append_wire(std::string& out, EventType type, const Uuid& id, TimestampNs ts, std::string_view source,
                 std::string_view data, std::string_view metadata) {
  char id_text[Uuid::kTextSize];
  id.format(id_text);
  char ts_text[kIsoTimestampSize];
  format_iso_timestamp(ts, ts_text);
  out.reserve(out.size() + 150 + source.size() + data.size() + metadata.size());
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

std::string event_json(const Event& event) {
  std::string out;
  append_event_json(out, event);
  return out;
}

std::optional<Event> decode_event_json(std::string_view json, DecodeError* error) {
  auto fail = [&](DecodeError e) -> std::optional<Event> {
    if (error != nullptr) *error = e;
    return std::nullopt;
  };
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return fail(DecodeError::not_json);
  // First pass: read every value. On-Demand checks only what it reads, and
  // data/metadata are taken below as raw text, so this is what rejects
  // invalid atoms and nesting deeper than Python's json.loads can take.
  {
    simdjson::ondemand::value root;
    if (doc.get_value().get(root) || !is_valid_json_value(root) || !fully_consumed(doc)) {
      return fail(DecodeError::not_json);
    }
    doc.rewind();
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return fail(DecodeError::not_json);

  std::optional<std::string_view> type_name, id_text, ts_text;
  bool have_source = false, have_data = false, have_metadata = false;
  Event ev;
  // One pass over the fields in document order: On-Demand reads each value
  // once, so every field is consumed where it stands.
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail(DecodeError::not_json);
    simdjson::ondemand::value value;
    if (field.value().get(value)) return fail(DecodeError::not_json);
    if (key == "event_type" || key == "event_id" || key == "timestamp" || key == "source") {
      std::string_view s;
      auto err = value.get_string().get(s);
      if (err == simdjson::INCORRECT_TYPE) return fail(DecodeError::missing_field);
      if (err) return fail(DecodeError::not_json);
      if (key == "event_type") {
        const auto t = parse_event_type(s);
        if (!t) return fail(DecodeError::unknown_event_type);
        ev.type = *t;
        type_name = s;
      } else if (key == "event_id") {
        const auto id = Uuid::parse(s);
        if (!id) return fail(DecodeError::bad_event_id);
        ev.event_id = *id;
        id_text = s;
      } else if (key == "timestamp") {
        const auto ts = parse_iso_timestamp(s);
        if (!ts) return fail(DecodeError::bad_timestamp);
        ev.timestamp_ns = *ts;
        ts_text = s;
      } else {
        ev.source.assign(s);
        have_source = true;
      }
    } else if (key == "data" || key == "metadata") {
      simdjson::ondemand::json_type jt;
      if (value.type().get(jt)) return fail(DecodeError::not_json);
      if (jt != simdjson::ondemand::json_type::object) return fail(DecodeError::data_not_object);
      simdjson::ondemand::object inner;
      if (value.get_object().get(inner)) return fail(DecodeError::not_json);
      std::string_view raw;
      if (inner.raw_json().get(raw)) return fail(DecodeError::not_json);
      (key == "data" ? ev.data : ev.metadata).assign(raw);
      (key == "data" ? have_data : have_metadata) = true;
    } else {
      // Extra keys from newer producers are allowed; On-Demand skips the
      // value when the loop moves to the next field.
    }
  }
  if (!fully_consumed(doc)) return fail(DecodeError::not_json);
  if (!type_name || !id_text || !ts_text || !have_source || !have_data || !have_metadata) {
    return fail(DecodeError::missing_field);
  }
  if (error != nullptr) *error = DecodeError::none;
  return ev;
}

}  // namespace tradpal
