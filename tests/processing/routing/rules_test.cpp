// The routing rule language: what a rules file may say, what it is refused
// for (with the place named), how conditions evaluate, which targets and
// tags a match gives, and the in-process filter on a real bus.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/bus.h"
#include "processing/routing/event_filter.h"
#include "processing/routing/metadata_tags.h"
#include "processing/routing/rule_error.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"

namespace tradpal::routing {
namespace {

std::string one_rule(const std::string& when) {
  return R"({"rules": [{"name": "r", "copy_to": "out", "when": )" + when + "}]}";
}

// Whether the condition matches an event with this data (and metadata).
bool holds(const std::string& when, const std::string& data, const std::string& metadata = "{}",
           const std::string& type = "market_data_update", const std::string& source = "data_service") {
  const RuleSet rules = RuleSet::parse(one_rule(when));
  RuleMatcher m(rules);
  RoutedEvent e{type, source, "8c2f4ad5-6f0e-4a43-a4ac-2f4cc8a3f0b1", data, metadata};
  return m.matches(e, 0);
}

std::string refusal(const std::string& doc) {
  try {
    (void)RuleSet::parse(doc, "rules.json");
  } catch (const RuleError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(RuleSetTest, RefusesWhatItDoesNotUnderstandNamingThePlace) {
  EXPECT_EQ(refusal("{"), "rules.json: not valid JSON: " + std::string(simdjson::error_message(simdjson::TAPE_ERROR)))
      << "any parse error message is fine; this pins the file name prefix";
  EXPECT_EQ(refusal(R"({"rule": []})"), "rules.json: unknown key 'rule' (the file holds \"rules\")");
  EXPECT_EQ(refusal(R"({"rules": [{"copy_to": "x"}]})"), "rules.json: rules[0]: a rule needs a name");
  EXPECT_EQ(refusal(R"({"rules": [{"name": "a"}]})"), "rules.json: rules[0]: rule 'a' has no action (copy_to or tag)");
  EXPECT_EQ(refusal(R"({"rules": [{"name": "a", "copy_to": "x"}, {"name": "a", "copy_to": "y"}]})"),
            "rules.json: rules[1].name: duplicate rule name 'a'");
  EXPECT_EQ(refusal(R"({"rules": [{"name": "a b", "copy_to": "x"}]})"),
            "rules.json: rules[0].name: expected a name of letters, digits, '_', '.' or '-' (at most 128)");
  EXPECT_EQ(refusal(R"({"rules": [{"name": "a", "copy_to": "x", "target": "y"}]})"),
            "rules.json: rules[0]: unknown key 'target' (a rule has name, description, when, copy_to, tag)");
  EXPECT_EQ(refusal(R"({"rules": [{"name": "a", "copy_to": ["x", "has space"]}]})"),
            "rules.json: rules[0].copy_to[1]: expected a stream name (no spaces or control characters)");
  EXPECT_EQ(refusal(one_rule(R"({"field": "data.price", "gtx": 1})")),
            "rules.json: rules[0].when: unknown key 'gtx' (operators: eq, ne, lt, lte, gt, gte, in, regex, exists; "
            "or all, any, not)");
  EXPECT_EQ(refusal(one_rule(R"({"all": [{"field": "price", "eq": 1}]})")),
            "rules.json: rules[0].when.all[0].field: unknown field 'price' (expected type, source, event_id, "
            "data[.key...] or metadata[.key...])");
  EXPECT_EQ(refusal(one_rule(R"({"field": "type", "in": ["order_executed", "order_exec"]})")),
            "rules.json: rules[0].when: 'order_exec' is not an event type");
  EXPECT_EQ(refusal(one_rule(R"({"any": [{"not": {"field": "source", "regex": "("}}]})")).rfind(
                "rules.json: rules[0].when.any[0].not.regex: not an RE2 pattern: ", 0),
            0u);
  EXPECT_EQ(refusal(one_rule(R"({"field": "data.x", "eq": 1, "ne": 2})")),
            "rules.json: rules[0].when: one operator per condition (use all/any to combine)");
  EXPECT_EQ(refusal(one_rule(R"({"field": "data.x"})")), "rules.json: rules[0].when: field 'data.x' without an operator");
  EXPECT_EQ(refusal(one_rule(R"({"field": "data.x", "eq": {"a": 1}})")),
            "rules.json: rules[0].when.eq: expected a string, number, boolean or null, not an object or array");
  EXPECT_EQ(refusal(one_rule(R"({"field": "data.x", "gt": true})")), "rules.json: rules[0].when.gt: expected a number or a string");
  EXPECT_EQ(refusal(one_rule(R"({"all": []})")), "rules.json: rules[0].when.all: expected a non-empty array of conditions");
  EXPECT_EQ(refusal(one_rule(R"({"all": [{"field": "type", "eq": "risk_alert"}], "not": {"field": "type", "eq": "risk_alert"}})")),
            "rules.json: rules[0].when: 'all' stands alone in its condition object");
  EXPECT_EQ(refusal(one_rule(R"({"field": "source.x", "eq": 1})")),
            "rules.json: rules[0].when.field: field 'source.x': source is a string, it has no keys");
  EXPECT_EQ(refusal(one_rule(R"({"field": "data..x", "eq": 1})")), "rules.json: rules[0].when.field: empty key in field 'data..x'");
}

TEST(RuleSetTest, LoadFileNamesAMissingFile) {
  try {
    (void)RuleSet::load_file("/nonexistent/rules.json");
    FAIL() << "loaded";
  } catch (const RuleError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/rules.json: cannot open the rules file");
  }
}

// Writes `text` to a file named `name` in a fresh temporary directory.
std::filesystem::path write_file(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / ("rules_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name) << text;
  return dir / name;
}

TEST(RuleSetTest, ReadsTheSameTreeFromYaml) {
  const auto path = write_file("rules.yaml", R"(# comments are fine
rules:
  - name: big_orders
    when:
      all:
        - {field: type, eq: order_executed}
        - {field: data.quantity, gte: 100}
        - not: {field: data.note, eq: "100"}
        - {field: data.flag, eq: true}
        - {field: data.ratio, lt: .5}
    copy_to: [orders_big, audit]
    tag: {desk: block, level: 2, none: ~, code: "007"}
)");
  const RuleSet rules = RuleSet::load_file(path);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules.targets(), (std::vector<std::string>{"orders_big", "audit"}));
  EXPECT_EQ(rules.rules()[0].tags, (std::vector<std::pair<std::string, std::string>>{
                                       {"desk", "\"block\""}, {"level", "2"}, {"none", "null"}, {"code", "\"007\""}}));
  RuleMatcher m(rules);
  auto matches = [&](const std::string& data) {
    return m.matches(RoutedEvent{"order_executed", "s", "id", data, "{}"}, 0);
  };
  EXPECT_TRUE(matches(R"({"quantity": 150, "note": 100, "flag": true, "ratio": 0.25})"))
      << "a quoted \"100\" is a string: it does not equal the number 100";
  EXPECT_FALSE(matches(R"({"quantity": 150, "note": "100", "flag": true, "ratio": 0.25})"));
  EXPECT_FALSE(matches(R"({"quantity": 150, "flag": "true", "ratio": 0.25})")) << "true is a boolean";
  EXPECT_FALSE(matches(R"({"quantity": 99, "flag": true, "ratio": 0.25})"));

  try {
    (void)RuleSet::load_file(write_file("bad.yml", "rules:\n  - name: [unclosed\n"));
    FAIL() << "loaded";
  } catch (const RuleError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yml: line "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not valid YAML"), std::string::npos) << e.what();
  }
  try {
    (void)RuleSet::load_file(write_file("nan.yaml", "rules:\n  - {name: a, copy_to: x, when: {field: data.x, gt: .nan}}\n"));
    FAIL() << "loaded";
  } catch (const RuleError& e) {
    EXPECT_NE(std::string(e.what()).find("'.nan' has no JSON form"), std::string::npos) << e.what();
  }
  try {
    (void)RuleSet::load_file(write_file("typo.yaml", "rules:\n  - {name: a, copy_to: x, when: {field: type, eq: order}}\n"));
    FAIL() << "loaded";
  } catch (const RuleError& e) {
    EXPECT_STREQ(e.what(), (write_file("typo.yaml", "").string() + ": rules[0].when: 'order' is not an event type").c_str());
  }
}

TEST(ConditionTest, ComparesNumbersStringsAndKinds) {
  const std::string d = R"({"price": 101.5, "qty": 100, "symbol": "BTCUSDT", "live": true, "note": null,
                           "legs": [{"px": 1}, {"px": 2}], "a.b": 7, "big": 12345678901234567890})";
  EXPECT_TRUE(holds(R"({"field": "data.qty", "eq": 100.0})", d));
  EXPECT_TRUE(holds(R"({"field": "data.price", "gt": 101})", d));
  EXPECT_FALSE(holds(R"({"field": "data.price", "gt": 101.5})", d));
  EXPECT_TRUE(holds(R"({"field": "data.price", "gte": 101.5})", d));
  EXPECT_TRUE(holds(R"({"field": "data.qty", "lt": 101})", d));
  EXPECT_TRUE(holds(R"({"field": "data.qty", "lte": 100})", d));
  EXPECT_TRUE(holds(R"({"field": "data.big", "gt": 1e19})", d));
  EXPECT_TRUE(holds(R"({"field": "data.symbol", "eq": "BTCUSDT"})", d));
  EXPECT_TRUE(holds(R"({"field": "data.symbol", "lt": "ETH"})", d));
  EXPECT_FALSE(holds(R"({"field": "data.symbol", "eq": 1})", d)) << "a string never equals a number";
  EXPECT_FALSE(holds(R"({"field": "data.symbol", "gt": 1})", d)) << "kinds that differ do not order";
  EXPECT_TRUE(holds(R"({"field": "data.symbol", "ne": "ETHUSDT"})", d));
  EXPECT_FALSE(holds(R"({"field": "data.missing", "ne": "x"})", d)) << "ne is present-and-different";
  EXPECT_TRUE(holds(R"({"field": "data.live", "eq": true})", d));
  EXPECT_FALSE(holds(R"({"field": "data.live", "eq": 1})", d));
  EXPECT_TRUE(holds(R"({"field": "data.note", "eq": null})", d));
  EXPECT_TRUE(holds(R"({"field": "data.note", "exists": true})", d));
  EXPECT_TRUE(holds(R"({"field": "data.nope", "exists": false})", d));
  EXPECT_FALSE(holds(R"({"field": "data.nope", "exists": true})", d));
  EXPECT_TRUE(holds(R"({"field": "data.legs.1.px", "eq": 2})", d));
  EXPECT_FALSE(holds(R"({"field": "data.legs.2.px", "exists": true})", d));
  EXPECT_FALSE(holds(R"({"field": "data.legs.01.px", "eq": 2})", d)) << "no leading zeros in an index";
  EXPECT_TRUE(holds(R"({"field": "/data/a.b", "eq": 7})", d));
  EXPECT_FALSE(holds(R"({"field": "data.a.b", "exists": true})", d));
  EXPECT_TRUE(holds(R"({"field": "data.symbol", "in": ["ETHUSDT", "BTCUSDT"]})", d));
  EXPECT_FALSE(holds(R"({"field": "data.symbol", "in": ["ETHUSDT", 1]})", d));
  EXPECT_TRUE(holds(R"({"field": "data.symbol", "regex": "USD"})", d)) << "a regex is searched anywhere";
  EXPECT_FALSE(holds(R"({"field": "data.symbol", "regex": "^USD"})", d));
  EXPECT_FALSE(holds(R"({"field": "data.qty", "regex": "1"})", d)) << "a regex applies to strings only";
  EXPECT_FALSE(holds(R"({"field": "data.price", "gt": 1})", "not json")) << "unreadable data: as if missing";
  EXPECT_TRUE(holds(R"({"field": "data.price", "exists": false})", "not json"));
}

TEST(ConditionTest, CombinesAndLooksAtTheEnvelope) {
  const std::string d = R"({"side": "buy", "quantity": 250})";
  const std::string md = R"({"desk": {"name": "block"}})";
  const std::string c = R"({"all": [{"field": "type", "eq": "order_executed"},
                                    {"any": [{"field": "data.quantity", "gte": 1000},
                                             {"field": "metadata.desk.name", "eq": "block"}]},
                                    {"not": {"field": "source", "regex": "^test"}}]})";
  EXPECT_TRUE(holds(c, d, md, "order_executed", "execution_service"));
  EXPECT_FALSE(holds(c, d, md, "order_executed", "test_harness"));
  EXPECT_FALSE(holds(c, d, md, "trading_signal", "execution_service"));
  EXPECT_FALSE(holds(c, d, "{}", "order_executed", "execution_service"));
  EXPECT_TRUE(holds(c, R"({"quantity": 1000})", "{}", "order_executed", "execution_service"));
  EXPECT_TRUE(holds(R"({"field": "event_id", "regex": "^8c2f"})", "{}"));
  // The envelope needs no parse: a rule on type alone never reads data.
  const RuleSet rules = RuleSet::parse(one_rule(R"({"field": "type", "eq": "risk_alert"})"));
  EXPECT_FALSE(rules.rules()[0].when->reads_documents());
}

TEST(RuleMatcherTest, GivesTargetsOnceAndTheLastTagValue) {
  const RuleSet rules = RuleSet::parse(R"({"rules": [
      {"name": "all_md", "when": {"field": "type", "eq": "market_data_update"}, "copy_to": ["md", "audit"],
       "tag": {"routed": true, "tier": 1}},
      {"name": "btc", "when": {"field": "data.symbol", "eq": "BTCUSDT"}, "copy_to": ["btc", "md"], "tag": {"tier": 2}},
      {"name": "never", "when": {"field": "type", "eq": "risk_alert"}, "copy_to": "alerts"},
      {"name": "tag_only", "tag": {"seen_by": "router"}}]})");
  EXPECT_EQ(rules.targets(), (std::vector<std::string>{"md", "audit", "btc", "alerts"}));
  RuleMatcher m(rules);
  const std::string data = R"({"symbol": "BTCUSDT"})";
  const auto matched = m.match(RoutedEvent{"market_data_update", "s", "id", data, "{}"});
  EXPECT_EQ(std::vector<std::uint32_t>(matched.begin(), matched.end()), (std::vector<std::uint32_t>{0, 1, 3}));
  std::vector<std::string> targets;
  for (const std::string* t : m.targets()) targets.push_back(*t);
  EXPECT_EQ(targets, (std::vector<std::string>{"md", "audit", "btc"}));
  EXPECT_EQ(tagged_metadata(R"({"tier": 0, "origin": {"a": [1, 2]}})", m.tags()),
            R"({"origin": {"a":[1,2]}, "routed": true, "tier": 2, "seen_by": "router"})");
  EXPECT_THROW((void)tagged_metadata("[]", m.tags()), std::invalid_argument);
  const auto none = m.match(RoutedEvent{"trading_signal", "s", "id", "{}", "{}"});
  EXPECT_EQ(none.size(), 1u) << "only the rule without a condition";
  EXPECT_TRUE(m.targets().empty());
}

TEST(EventFilterTest, FiltersABusSubscriptionOnTheFrameInPlace) {
  Bus bus;
  auto sub = bus.subscribe();
  auto rules = std::make_shared<const RuleSet>(RuleSet::parse(R"({"rules": [
      {"name": "big", "copy_to": "x", "when": {"all": [{"field": "type", "eq": "order_executed"},
                                                       {"field": "data.qty", "gte": 100}]}}]})"));
  EventFilter big(rules, "big");
  EXPECT_THROW(EventFilter(rules, "small"), RuleError);
  for (int q : {5, 150, 99, 100, 1000}) {
    const std::string data = "{\"qty\": " + std::to_string(q) + "}";
    ASSERT_EQ(bus.publish(EventSpec{.type = EventType::order_executed, .data = data}), PublishStatus::ok);
  }
  ASSERT_EQ(bus.publish(EventSpec{.type = EventType::risk_alert, .data = R"({"qty": 500})"}), PublishStatus::ok);
  std::vector<std::string> seen;
  std::size_t polled = 0;
  while (polled < 6) {
    polled += sub.poll(when(big, [&](const EventView& e, bool) { seen.emplace_back(e.data()); }));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{R"({"qty": 150})", R"({"qty": 100})", R"({"qty": 1000})"}));

  EventFilter alerts = EventFilter::from_condition(R"({"field": "type", "in": ["risk_alert"]})");
  EXPECT_THROW((void)EventFilter::from_condition(R"({"field": "type", "in": ["risk"]})"), RuleError);
  ASSERT_EQ(bus.publish(EventSpec{.type = EventType::risk_alert}), PublishStatus::ok);
  ASSERT_EQ(bus.publish(EventSpec{.type = EventType::system_health}), PublishStatus::ok);
  std::size_t hits = 0;
  polled = 0;
  while (polled < 2) polled += sub.poll(when(alerts, [&](const EventView&, bool) { ++hits; }));
  EXPECT_EQ(hits, 1u);
}

}  // namespace
}  // namespace tradpal::routing
