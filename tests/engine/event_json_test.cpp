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

}  // namespace
}  // namespace tradpal
