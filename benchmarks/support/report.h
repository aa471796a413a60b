// benchmarks/support/report.h
//
// Figures of a benchmark run, each beside the baseline measured in the same
// run, and their ratio. Every benchmark program ends by calling report():
// it prints the table and writes the figures as a JSON array
//   [{"name", "value", "unit", "baseline", "baseline_value", "ratio"}]
// to $TRADPAL_BENCH_DIR/<program>.json (tools/run bench merges those files
// into build/bench/summary.json). Single-threaded; call once at the end.
#pragma once

#include <string>
#include <vector>

namespace tradpal::bench {

struct Figure {
  std::string name;            // what was measured, e.g. "bus_1p1s_64B_throughput"
  double value = 0;            // our figure
  std::string unit;            // "events/s", "ns", ...
  std::string baseline;        // what it is compared with, e.g. "moodycamel_token_bulk"
  double baseline_value = 0;   // the baseline's figure from the same run
  bool higher_is_better = true;
  std::string target;          // e.g. ">= 1.5x" (empty: no target)
  double target_ratio = 0;     // ratio the target asks for (0: none)
};

// ratio = value / baseline_value (for "lower is better" figures too, so a
// latency ratio of 1.2 reads "20 % above the floor").
[[nodiscard]] double ratio(const Figure& f);

// Prints the table and writes <program>.json; returns the process exit code
// (always 0: a missed target is reported, not a failure of the run).
int report(const std::string& program, const std::vector<Figure>& figures);

}  // namespace tradpal::bench
