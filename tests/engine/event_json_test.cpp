#include "engine/event_json.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/json.h"

namespace tradpal {
namespace {

// One line of a stream fixture: {"id", "fields": {...}, "expect"?, "why"?}.
struct FixtureEntry {
  std::string id;
  std::map<std::string, std::string> fields;
  std::string expect;
  std::string why;
};

std::vector<FixtureEntry> load_fixture(const std::string& name) {
  std::ifstream in(std::string(TRADPAL_FIXTURES_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<FixtureEntry> entries;
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    simdjson::dom::element root = parser.parse(line);
    FixtureEntry e;
    e.id = std::string(std::string_view(root["id"]));
    for (auto [key, value] : simdjson::dom::object(root["fields"])) {
      e.fields[std::string(key)] = std::string(std::string_view(value));
    }
    std::string_view s;
    if (!root["expect"].get(s)) e.expect = s;
    if (!root["why"].get(s)) e.why = s;
    entries.push_back(std::move(e));
  }
  return entries;
}

TEST(EventJson, DecodesEveryRecordedPythonEntry) {
  const auto entries = load_fixture("tradpal_stream.jsonl");
  ASSERT_EQ(entries.size(), 19u);
  std::set<EventType> types;
  simdjson::dom::parser parser;
  for (const auto& entry : entries) {
    const std::string& json = entry.fields.at("event");
    DecodeError error = DecodeError::none;
    const auto event = decode_event_json(json, &error);
    ASSERT_TRUE(event) << entry.id << ": " << to_string(error);
    // Compare with an independent DOM parse of the same entry.
    simdjson::dom::element root = parser.parse(json);
    EXPECT_EQ(to_string(event->type), std::string_view(root["event_type"]));
    EXPECT_EQ(event->event_id.to_string(), std::string_view(root["event_id"]));
    EXPECT_EQ(event->source, std::string_view(root["source"]));
    EXPECT_EQ(format_iso_timestamp(event->timestamp_ns).substr(0, 19),
              std::string(std::string_view(root["timestamp"])).substr(0, 19));
    EXPECT_TRUE(is_json_object(event->data)) << event->data;
    EXPECT_TRUE(is_json_object(event->metadata));
    EXPECT_EQ(simdjson::minify(parser.parse(event->data)), simdjson::minify(root["data"]));
    types.insert(event->type);
  }
  EXPECT_EQ(types.size(), kEventTypeCount);
}

TEST(EventJson, EdgeEntriesAreAcceptedOrRejectedAsRecorded) {
  const auto entries = load_fixture("tradpal_stream_edge.jsonl");
  ASSERT_FALSE(entries.empty());
  int accepted = 0;
  int skipped = 0;
  for (const auto& entry : entries) {
    const auto it = entry.fields.find("event");
    std::optional<Event> event;
    DecodeError error = DecodeError::missing_field;
    if (it != entry.fields.end()) event = decode_event_json(it->second, &error);
    if (entry.expect == "accept") {
      EXPECT_TRUE(event) << entry.id << " (" << entry.why << "): " << to_string(error);
      ++accepted;
    } else {
      ASSERT_EQ(entry.expect, "skip-and-count") << entry.id;
      EXPECT_FALSE(event) << entry.id << " (" << entry.why << ") was accepted";
      EXPECT_NE(error, DecodeError::none);
      ++skipped;
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(skipped, 0);
}

TEST(EventJson, EncodesWhatPythonWritesAndDecodesItBack) {
  Event e;
  e.type = EventType::market_data_update;
  e.event_id = *Uuid::parse("5598e30c-2e24-4b5a-8cd0-81f30a81161d");
  e.timestamp_ns = *parse_iso_timestamp("2026-11-29T16:27:08.192679");
  e.source = "data_service";
  e.data = R"({"symbol": "BTC/USDT", "price": 45000.0})";
  e.metadata = "{}";
  EXPECT_EQ(event_json(e),
            R"({"event_type": "market_data_update", "event_id": "5598e30c-2e24-4b5a-8cd0-81f30a81161d", )"
            R"("timestamp": "2026-11-29T16:27:08.192679", "source": "data_service", )"
            R"("data": {"symbol": "BTC/USDT", "price": 45000.0}, "metadata": {}})");
  const auto back = decode_event_json(event_json(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, e.type);
  EXPECT_EQ(back->event_id, e.event_id);
  EXPECT_EQ(back->timestamp_ns, e.timestamp_ns);
  EXPECT_EQ(back->source, e.source);
  EXPECT_EQ(back->data, e.data);
}

TEST(EventJson, NamesTheKindOfEachDecodeFailure) {
  auto kind = [](std::string_view json) {
    DecodeError e = DecodeError::none;
    EXPECT_FALSE(decode_event_json(json, &e));
    return e;
  };
  const std::string ok_tail = R"("source": "s", "data": {}, "metadata": {}})";
  EXPECT_EQ(kind("{not json"), DecodeError::not_json);
  EXPECT_EQ(kind("[1]"), DecodeError::not_json);
  EXPECT_EQ(kind(R"({"event_type": "x", "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "2026-11-29T16:00:00", )" + ok_tail),
            DecodeError::unknown_event_type);
  EXPECT_EQ(kind(R"({"event_type": "risk_alert", "event_id": "nope", "timestamp": "2026-11-29T16:00:00", )" +
                 ok_tail),
            DecodeError::bad_event_id);
  EXPECT_EQ(kind(R"({"event_type": "risk_alert", "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "yesterday", )" + ok_tail),
            DecodeError::bad_timestamp);
  EXPECT_EQ(kind(R"({"event_type": "risk_alert", "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "2026-11-29T16:00:00", "source": "s", "data": [], "metadata": {}})"),
            DecodeError::data_not_object);
  EXPECT_EQ(kind(R"({"event_type": "risk_alert", "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "2026-11-29T16:00:00", "data": {}, "metadata": {}})"),
            DecodeError::missing_field);
  EXPECT_EQ(kind(R"({"event_type": 7, "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "2026-11-29T16:00:00", )" + ok_tail),
            DecodeError::missing_field);
}

TEST(EventJson, InvalidJsonAnywhereIsNotJson) {
  auto kind = [](std::string_view json) {
    DecodeError e = DecodeError::none;
    EXPECT_FALSE(decode_event_json(json, &e)) << json;
    return e;
  };
  const std::string head = R"({"event_type": "risk_alert", "event_id": "00000000-0000-4000-8000-000000000001", )"
                           R"("timestamp": "2026-11-29T16:00:00", "source": "s", )";
  // Each invalid atom is read, not skipped, wherever it stands; `nul` once
  // made the null check throw out of a noexcept function.
  EXPECT_EQ(kind(head + R"("data": {"a": nul}, "metadata": {}})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {"a": [1, tru]}, "metadata": {}})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {}, "metadata": {"m": fals}})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {}, "metadata": {}, "extra": nul})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("extra": [01], "data": {}, "metadata": {}})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {"n": -012345678901234567890}, "metadata": {}})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {"n": 1.}, "metadata": {}})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {}, "metadata": {}} {"more": 1})"), DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": {}, "metadata": {})"), DecodeError::not_json);
  // Invalid JSON wins over every other kind of error, wherever it is.
  EXPECT_EQ(kind(R"({"event_type": "mystery", "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "2026-11-29T16:00:00", "source": "s", "data": {"a": tru}, "metadata": {}})"),
            DecodeError::not_json);
  EXPECT_EQ(kind(head + R"("data": [nul], "metadata": {}})"), DecodeError::not_json);
  EXPECT_EQ(kind(R"({"event_type": nul, "event_id": "00000000-0000-4000-8000-000000000001", )"
                 R"("timestamp": "2026-11-29T16:00:00", "source": "s", "data": {}, "metadata": {}})"),
            DecodeError::not_json);
  // Valid JSON of the wrong shape keeps its own kind; the first one counts.
  EXPECT_EQ(kind(head + R"("data": [null], "metadata": 1})"), DecodeError::data_not_object);
  EXPECT_EQ(kind(R"({"event_type": "mystery", "event_id": "nope", "timestamp": "2026-11-29T16:00:00", )"
                 R"("source": "s", "data": {}, "metadata": {}})"),
            DecodeError::unknown_event_type);
}

TEST(EventJson, AcceptsEveryValidValueBelowDataAndExtraKeys) {
  const std::string json =
      R"({"event_type": "risk_alert", "event_id": "00000000-0000-4000-8000-000000000001", )"
      R"("timestamp": "2026-11-29T16:00:00", "source": "s\u00e9", "x": {"deep": [[[null]]], "n": -0.5e-3}, )"
      R"("data": {"a": [1, 2.5e3, null, true, false, {"b": "c\n"}], "big": 123456789012345678901234, "huge": -1e400} , )"
      R"("metadata": {"m": null}})";
  DecodeError error = DecodeError::not_json;
  const auto event = decode_event_json(json, &error);
  ASSERT_TRUE(event) << to_string(error);
  EXPECT_EQ(error, DecodeError::none);
  EXPECT_EQ(event->source, "s\xc3\xa9");
  // data is the object's text as it stands, up to the next token.
  EXPECT_EQ(event->data,
            R"({"a": [1, 2.5e3, null, true, false, {"b": "c\n"}], "big": 123456789012345678901234, "huge": -1e400} )");
  EXPECT_EQ(event->metadata, R"({"m": null})");
}

TEST(EventJson, ViewDecodeBorrowsWhatOwnedDecodeCopies) {
  for (const auto& entry : load_fixture("tradpal_stream.jsonl")) {
    const std::string& json = entry.fields.at("event");
    const auto owned = decode_event_json(json);
    ASSERT_TRUE(owned) << entry.id;
    EventFields view;
    ASSERT_EQ(decode_event_view(json, view), DecodeError::none) << entry.id;
    EXPECT_EQ(view.type, owned->type);
    EXPECT_EQ(view.event_id, owned->event_id);
    EXPECT_EQ(view.timestamp_ns, owned->timestamp_ns);
    EXPECT_EQ(view.source, owned->source);
    EXPECT_EQ(view.data, owned->data);
    EXPECT_EQ(view.metadata, owned->metadata);
    // The views point into the decoder's own copy, not into the caller's
    // text, which may be freed as soon as the call returns.
    const auto inside = [&](std::string_view v) {
      return v.data() >= json.data() && v.data() < json.data() + json.size();
    };
    EXPECT_FALSE(inside(view.data));
    EXPECT_FALSE(inside(view.metadata));
  }
}

TEST(EventJson, ViewDecodeReusesItsBuffersAcrossSizes) {
  // A large event grows the thread's buffers; smaller ones after it, and a
  // failure in between, still decode correctly from the same buffers.
  Event e;
  e.type = EventType::system_health;
  e.event_id = *Uuid::parse("00000000-0000-4000-8000-000000000001");
  e.timestamp_ns = *parse_iso_timestamp("2026-11-29T16:00:00");
  e.source = "svc";
  std::vector<std::string> texts;
  for (const std::size_t n : {10u, 100000u, 3u}) {
    e.data = R"({"pad": ")" + std::string(n, 'x') + R"("})";
    texts.push_back(event_json(e));
  }
  EventFields view;
  for (const auto& text : texts) {
    ASSERT_EQ(decode_event_view(text, view), DecodeError::none);
    EXPECT_EQ(view.source, "svc");
    EXPECT_EQ(view.data.size(), text.size() - text.find(R"({"pad")") - std::string_view(R"(, "metadata": {}})").size());
    EXPECT_EQ(decode_event_view("{not json", view), DecodeError::not_json);
  }
}

}  // namespace
}  // namespace tradpal
