#include "benchmarks/support/report.h"

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

double ratio(const Figure& f) { return f.baseline_value != 0 ? f.value / f.baseline_value : 0; }

int report(const std::string& program, const std::vector<Figure>& figures) {
  std::printf("\n%-44s %16s %-12s %-34s %16s %8s  %s\n", "figure", "value", "unit", "baseline (same run)",
              "baseline value", "ratio", "target");
  for (const Figure& f : figures) {
    const double r = ratio(f);
    std::string verdict;
    if (f.target_ratio > 0) {
      const bool met = f.higher_is_better ? r >= f.target_ratio : r <= f.target_ratio;
      verdict = f.target + (met ? "  met" : "  MISSED");
    }
    std::printf("%-44s %16s %-12s %-34s %16s %8.3f  %s\n", f.name.c_str(), number(f.value).c_str(), f.unit.c_str(),
                f.baseline.c_str(), number(f.baseline_value).c_str(), r, verdict.c_str());
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
         << ", \"target\": " << json_string(f.target) << "}";
  }
  json << "\n]\n";
  std::ofstream(out_dir / (program + ".json")) << json.str();
  std::printf("figures written to %s\n", (out_dir / (program + ".json")).c_str());
  return 0;
}

}  // namespace tradpal::bench
