// The default schemas (schemas/<event_type>.json): one per event type, they
// load as a set, accept every payload the Python system was recorded
// publishing (stream entries and HTTP bodies), and refuse a payload whose
// known fields have the wrong type, naming the field.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <string>

#include "engine/event_type.h"
#include "processing/schema/schema_set.h"

namespace tradpal::schema {
namespace {

SchemaSet defaults() { return SchemaSet::load_directory(TRADPAL_SCHEMAS_DIR); }

TEST(DefaultSchemas, OnePerEventType) {
  const SchemaSet set = defaults();
  EXPECT_EQ(set.size(), kEventTypeCount);
  for (const std::string_view name : kEventTypeNames) EXPECT_NE(set.find(name), nullptr) << name;
}

// Every recorded stream entry that is a TradPal event (a known type and an
// object as data; the edge recordings hold some that are not, which the
// decoder refuses before any schema sees them).
TEST(DefaultSchemas, AcceptEveryRecordedStreamPayload) {
  const SchemaSet set = defaults();
  simdjson::dom::parser outer, inner, data_parser;
  int checked = 0;
  for (const char* file : {"tradpal_stream.jsonl", "tradpal_stream_edge.jsonl"}) {
    std::ifstream in(std::string(TRADPAL_FIXTURES_DIR) + "/" + file);
    ASSERT_TRUE(in) << file;
    for (std::string line; std::getline(in, line);) {
      std::string_view event_text;
      if (outer.parse(line)["fields"]["event"].get(event_text) != simdjson::SUCCESS) continue;
      simdjson::dom::element event;
      if (inner.parse(event_text.data(), event_text.size()).get(event) != simdjson::SUCCESS) continue;
      std::string_view type;
      simdjson::dom::element data;
      if (event["event_type"].get(type) || !parse_event_type(type) || event["data"].get(data) || !data.is_object()) {
        continue;
      }
      const Schema* schema = set.find(type);
      ASSERT_NE(schema, nullptr) << type;
      const ValidationResult r = schema->validate(data);
      EXPECT_TRUE(r.ok()) << file << " " << type << ": " << (r.ok() ? "" : r.error().to_string());
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(DefaultSchemas, AcceptEveryRecordedHttpBody) {
  const SchemaSet set = defaults();
  simdjson::dom::parser parser;
  std::ifstream in(std::string(TRADPAL_FIXTURES_DIR) + "/tradpal_http_observed.jsonl");
  ASSERT_TRUE(in);
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element record = parser.parse(line);
    std::string_view method, path;
    simdjson::dom::object body;
    if (record["request"]["method"].get(method) || method != "POST" || record["request"]["path"].get(path) ||
        record["request"]["body"].get(body)) {
      continue;
    }
    // What each endpoint makes the event's data (CONTRACT.md §3).
    std::string type, data;
    std::string_view sv;
    simdjson::dom::object o;
    if (path == "/events" && !body["event_type"].get(sv) && parse_event_type(sv) && !body["data"].get(o)) {
      type = sv;
      data = simdjson::minify(o);
    } else if (path == "/events/trading-signal" && !body["signal"].get(o)) {
      type = "trading_signal";
      data = simdjson::minify(o);
    } else if (path == "/events/portfolio-update" && !body["updates"].get(o)) {
      type = "portfolio_update";
      data = simdjson::minify(o);
    } else if (path == "/events/market-data" && !body["symbol"].get(sv) && !body["market_data"].get(o)) {
      std::string fields = simdjson::minify(o);
      type = "market_data_update";
      data = "{\"symbol\":\"" + std::string(sv) + "\"" + (fields.size() > 2 ? "," + fields.substr(1) : "}");
    } else {
      continue;  // refused by eventd before any schema (the recordings include such requests)
    }
    simdjson::dom::parser p;
    const ValidationResult r = set.find(type)->validate_json(data, p);
    EXPECT_TRUE(r.ok()) << path << " " << data << ": " << (r.ok() ? "" : r.error().to_string());
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(DefaultSchemas, RefuseWrongFieldTypesAndSayWhere) {
  const SchemaSet set = defaults();
  simdjson::dom::parser p;
  const ValidationResult price = set.find("market_data_update")->validate_json(R"({"symbol": "BTC", "price": "high"})", p);
  ASSERT_FALSE(price.ok());
  EXPECT_EQ(price.error().pointer(), "/price");
  const ValidationResult missing = set.find("market_data_update")->validate_json(R"({"price": 1})", p);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().pointer(), "/symbol");
  const ValidationResult confidence =
      set.find("trading_signal")->validate_json(R"({"symbol": "BTC", "action": "BUY", "confidence": 1.5})", p);
  ASSERT_FALSE(confidence.ok());
  EXPECT_EQ(confidence.error().pointer(), "/confidence");
  const ValidationResult qty =
      set.find("portfolio_update")->validate_json(R"({"positions": [{"symbol": "A", "qty": 1}, {"qty": "x"}]})", p);
  ASSERT_FALSE(qty.ok());
  EXPECT_EQ(qty.error().pointer(), "/positions/1/qty");
}

}  // namespace
}  // namespace tradpal::schema
