#include "benchmarks/support/report.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tradpal::bench {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double ratio(const Figure& f) {
  if (!f.round_ratios.empty()) return median(f.round_ratios);
  return f.baseline_value != 0 ? f.value / f.baseline_value : 0;
}

void add_paired(std::vector<Figure>& figures, Figure figure, const std::vector<double>& ours,
                const std::vector<double>& theirs) {
  std::vector<double> a;
  std::vector<double> b;
  figure.round_ratios.clear();
  for (std::size_t i = 0; i < std::min(ours.size(), theirs.size()); ++i) {
    if (ours[i] <= 0 || theirs[i] <= 0) continue;
    a.push_back(ours[i]);
    b.push_back(theirs[i]);
    figure.round_ratios.push_back(ours[i] / theirs[i]);
  }
  if (figure.round_ratios.empty()) return;
  figure.value = median(a);
  figure.baseline_value = median(b);
  figures.push_back(std::move(figure));
}

int report(const std::string& program, const std::vector<Figure>& figures) {
  std::printf("\n%-44s %16s %-12s %-34s %16s %8s %-19s %s\n", "figure", "value", "unit", "baseline (same run)",
              "baseline value", "ratio", "  spread (rounds)", "target");
  for (const Figure& f : figures) {
    const double r = ratio(f);
    std::string verdict;
    if (f.target_ratio > 0) {
      const bool met = f.higher_is_better ? r >= f.target_ratio : r <= f.target_ratio;
      verdict = f.target + (met ? "  met" : "  MISSED");
    }
    char spread[64] = "";
    if (!f.round_ratios.empty()) {
      const auto [lo, hi] = std::minmax_element(f.round_ratios.begin(), f.round_ratios.end());
      std::snprintf(spread, sizeof spread, "  %.3f..%.3f (%zu)", *lo, *hi, f.round_ratios.size());
    }
    std::printf("%-44s %16s %-12s %-34s %16s %8.3f %-19s %s\n", f.name.c_str(), number(f.value).c_str(),
                f.unit.c_str(), f.baseline.c_str(), number(f.baseline_value).c_str(), r, spread, verdict.c_str());
  }
  const char* dir = std::getenv("TRADPAL_BENCH_DIR");
  const std::filesystem::path out_dir = dir != nullptr ? dir : "bench";
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  std::ostringstream json;
  json << "[";
  for (std::size_t i = 0; i < figures.size(); ++i) {
    const Figure& f = figures[i];
    json << (i ? ",\n " : "\n ") << "{\"name\": " << json_string(f.name) << ", \"value\": " << number(f.value)
         << ", \"unit\": " << json_string(f.unit) << ", \"baseline\": " << json_string(f.baseline)
         << ", \"baseline_value\": " << number(f.baseline_value) << ", \"ratio\": " << number(ratio(f))
         << ", \"target\": " << json_string(f.target);
    if (!f.round_ratios.empty()) {
      const auto [lo, hi] = std::minmax_element(f.round_ratios.begin(), f.round_ratios.end());
      json << ", \"rounds\": " << f.round_ratios.size() << ", \"ratio_min\": " << number(*lo)
           << ", \"ratio_max\": " << number(*hi);
    }
    json << "}";
  }
  json << "\n]\n";
  std::ofstream(out_dir / (program + ".json")) << json.str();
  std::printf("figures written to %s\n", (out_dir / (program + ".json")).c_str());
  return 0;
}

}  // namespace tradpal::bench
