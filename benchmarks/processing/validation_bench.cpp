// Validation of a typical market-data event's data against the shipped
// market_data_update schema (schemas/), beside a plain simdjson parse of
// the same bytes: the floor any check of JSON pays. The validator parses
// into simdjson's DOM and walks it; the baseline is that DOM parse alone.
// The issue's target: validation <= 2x the parse.
//
// Also the routing rules' matcher on the same event (three rules, two of
// them looking inside data), beside the same parse.
//
// Both parse in place from padded bytes, as a bus frame holds them.
// Contenders alternate in rounds; ratios are taken within a round.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <string>

#include "benchmarks/engine/harness.h"
#include "benchmarks/support/report.h"
#include "processing/routing/rule_matcher.h"
#include "processing/routing/rule_set.h"
#include "processing/schema/schema_set.h"

namespace {

// As the data service sends it (the recorded fixtures' shape).
constexpr std::string_view kData =
    R"({"symbol": "BTC/USDT", "price": 45000.5, "volume": 1234.56, "change_24h": 2.5, "high_24h": 46000.0,)"
    R"( "low_24h": 44000.0, "bid": 44999.5, "ask": 45001.0, "timestamp": "2026-11-29T16:27:08.192679"})";

struct Padded {
  Padded() : bytes(std::string(kData) + std::string(simdjson::SIMDJSON_PADDING, '\0')) {}
  std::string bytes;
  [[nodiscard]] const char* data() const noexcept { return bytes.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return kData.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return bytes.size(); }
};

const tradpal::schema::SchemaSet& schemas() {
  static const auto set = tradpal::schema::SchemaSet::load_directory(TRADPAL_SCHEMAS_DIR);
  return set;
}

void Validate(benchmark::State& state) {
  const Padded in;
  const tradpal::schema::Schema* schema = schemas().find("market_data_update");
  simdjson::dom::parser parser;
  std::size_t ok = 0;
  for (auto _ : state) {
    ok += schema->validate_json(in.data(), in.size(), in.capacity(), parser).ok() ? 1 : 0;
  }
  if (ok != state.iterations()) state.SkipWithError("the event did not validate");
  benchmark::DoNotOptimize(ok);
}

void ParseOnly(benchmark::State& state) {
  const Padded in;
  simdjson::dom::parser parser;
  std::size_t n = 0;
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(reinterpret_cast<const std::uint8_t*>(in.data()), in.size(), false).get(root) ==
        simdjson::SUCCESS) {
      ++n;
    }
    benchmark::DoNotOptimize(root);
  }
  benchmark::DoNotOptimize(n);
}

const tradpal::routing::RuleSet& rules() {
  static const auto set = tradpal::routing::RuleSet::parse(R"({"rules": [
    {"name": "md", "copy_to": "md", "when": {"field": "type", "eq": "market_data_update"}},
    {"name": "btc", "copy_to": "btc", "when": {"field": "data.symbol", "in": ["BTC/USDT", "ETH/USDT"]}},
    {"name": "wide", "copy_to": "wide", "when": {"all": [{"field": "data.ask", "gt": 0},
                                                         {"field": "data.bid", "gt": 45000}]}}]})");
  return set;
}

void MatchRules(benchmark::State& state) {
  const Padded in;
  tradpal::routing::RuleMatcher matcher(rules());
  const tradpal::routing::RoutedEvent e{"market_data_update", "data_service", "8c2f4ad5-6f0e-4a43-a4ac-2f4cc8a3f0b1",
                                        std::string_view(in.data(), in.size()), "{}", in.capacity(), 0};
  std::size_t matched = 0;
  for (auto _ : state) matched += matcher.match(e).size();
  if (matched != 2 * state.iterations()) state.SkipWithError("the rules did not match as meant");
  benchmark::DoNotOptimize(matched);
}

void configure(benchmark::internal::Benchmark* b) {
  b->Iterations(tradpal::bench::scaled(2'000'000))->Unit(benchmark::kNanosecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  tradpal::bench::Rounds rounds(5);
  rounds.add("validate_market_data", Validate, configure);
  rounds.add("simdjson_dom_parse", ParseOnly, configure);
  rounds.add("match_three_rules", MatchRules, configure);
  rounds.register_all();
  tradpal::bench::ResultCollector results;
  benchmark::RunSpecifiedBenchmarks(&results);
  benchmark::Shutdown();

  auto ns = [&](const char* name) {
    return results.per_round(name, rounds.count(), [](const auto& run) { return run.GetAdjustedRealTime(); });
  };
  std::vector<tradpal::bench::Figure> figures;
  tradpal::bench::add_paired(figures,
                             {.name = "schema_validate_market_data (parse + validate)", .unit = "ns/event",
                              .baseline = "simdjson_dom_parse", .higher_is_better = false, .target = "<= 2x",
                              .target_ratio = 2.0},
                             ns("validate_market_data"), ns("simdjson_dom_parse"));
  tradpal::bench::add_paired(figures,
                             {.name = "routing_match_3_rules (parse + match)", .unit = "ns/event",
                              .baseline = "simdjson_dom_parse", .higher_is_better = false},
                             ns("match_three_rules"), ns("simdjson_dom_parse"));
  std::printf("\nA %zu-byte market_data_update payload, parsed in place from padded bytes.\n", kData.size());
  return tradpal::bench::report("validation_bench", figures);
}
