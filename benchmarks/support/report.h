// benchmarks/support/report.h
//
// Figures of a benchmark run, each beside the baseline measured in the same
// run, and their ratio. Every benchmark program ends by calling report():
// it prints the table and writes the figures as a JSON array
//   [{"name", "value", "unit", "baseline", "baseline_value", "ratio", "target",
//     "rounds", "ratio_min", "ratio_max"}]
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
  // One ratio per round when the contenders ran alternately (round 1: each
  // once, then round 2, ...), each taken within its round. When set, the
  // figure's ratio is their median and the table shows their spread.
  std::vector<double> round_ratios;
};

// ratio = value / baseline_value (for "lower is better" figures too, so a
// latency ratio of 1.2 reads "20 % above the floor"), or the median of
// round_ratios when the figure has them.
[[nodiscard]] double ratio(const Figure& f);

// Prints the table and writes <program>.json; returns the process exit code
// (always 0: a missed target is reported, not a failure of the run).
int report(const std::string& program, const std::vector<Figure>& figures);

// The median of `values` (0 for none): the middle one, or the mean of the two
// middle ones.
[[nodiscard]] double median(std::vector<double> values);

// A figure of two contenders measured in rounds: `ours` and `theirs` hold one
// value per round (0 where that side did not run). value and baseline_value
// become each side's median, round_ratios the ratio within each round where
// both ran. Adds nothing when no round has both.
void add_paired(std::vector<Figure>& figures, Figure figure, const std::vector<double>& ours,
                const std::vector<double>& theirs);

}  // namespace tradpal::bench
