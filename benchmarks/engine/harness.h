// benchmarks/engine/harness.h
//
// What the engine benchmarks share: the run length (TRADPAL_BENCH_SCALE),
// pinning a thread to one CPU, the spin-then-yield loop that the bus and its
// baselines both wait with, Rounds (contenders alternated, so ratios are
// taken within a round), and a Google Benchmark reporter that prints as
// usual and keeps each benchmark's result, so main() can turn them into
// report() figures. Everything but pin_to_cpu and SpinThenYield runs on the
// main thread only.
#pragma once

#include <array>
#include <cstring>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include "benchmarks/support/report.h"
#include "engine/wait_strategy.h"

namespace tradpal::bench {

// TRADPAL_BENCH_SCALE multiplies every event and round-trip count: 1 is the
// full run (well under a minute per program), 0.05 a smoke run.
[[nodiscard]] inline double scale() noexcept {
  const char* text = std::getenv("TRADPAL_BENCH_SCALE");
  const double s = text != nullptr ? std::strtod(text, nullptr) : 1.0;
  return s > 0 ? std::clamp(s, 0.001, 100.0) : 1.0;
}

[[nodiscard]] inline std::int64_t scaled(std::int64_t n) noexcept {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(n) * scale()));
}

// Pins the calling thread to `cpu`. A machine with fewer CPUs, or a cpuset
// that excludes it, leaves the thread where it was: the run goes on, noisier,
// and says so once.
inline bool pin_to_cpu(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0) return true;
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) std::fprintf(stderr, "warning: cannot pin a thread to CPU %d; running unpinned\n", cpu);
  return false;
}

// tradpal::Yield's policy (spin with `pause`, then sched_yield) for code that
// has no Ring to hand it, so that the bus and the queue it is compared with
// wait in exactly the same way. With a core per thread the yield returns at
// once; with more threads than cores it lets the thread we wait for run.
class SpinThenYield {
 public:
  void idle() noexcept {
    if (spins_ < kSpins) {
      ++spins_;
      tradpal::detail::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  void reset() noexcept { spins_ = 0; }

 private:
  static constexpr int kSpins = 100;
  int spins_ = 0;
};

// Contenders alternated in rounds. This VM's placement can change mid-run
// (the same code reading 2x slower for a minute), so a figure that compares
// two contenders measured minutes apart says little. Round 1 runs every
// contender once, in the order added, then round 2, and so on; a figure's
// ratio is then taken within each round and reported as the median and
// spread of the rounds (report.h's add_paired).
// TRADPAL_BENCH_ROUNDS overrides the number of rounds.
class Rounds {
 public:
  using Body = std::function<void(benchmark::State&)>;
  using Configure = void (*)(benchmark::internal::Benchmark*);

  explicit Rounds(int count) {
    const char* text = std::getenv("TRADPAL_BENCH_ROUNDS");
    const int n = text != nullptr ? std::atoi(text) : 0;
    count_ = n > 0 ? n : count;
  }

  // A contender; `configure` sets its iterations, units and so on (not its
  // repetitions: each round is one run).
  void add(std::string name, Body body, Configure configure) {
    contenders_.push_back({std::move(name), std::move(body), configure});
  }

  // Registers every round's runs, named "<name>/round:<r>", in round order.
  void register_all() const {
    for (int r = 1; r <= count_; ++r) {
      for (const Contender& c : contenders_) {
        c.configure(benchmark::RegisterBenchmark(run_name(c.name, r).c_str(), c.body));
      }
    }
  }

  [[nodiscard]] int count() const noexcept { return count_; }
  [[nodiscard]] static std::string run_name(const std::string& name, int round) {
    return name + "/round:" + std::to_string(round);
  }

 private:
  struct Contender {
    std::string name;
    Body body;
    Configure configure;
  };
  int count_ = 1;
  std::vector<Contender> contenders_;
};

// Prints like the console reporter and remembers, per benchmark function
// name, the median of its repetitions (or its only run).
class ResultCollector : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal, so logs and tools/run bench stay plain text.
  ResultCollector() : ConsoleReporter(isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const std::string& name = run.run_name.function_name;
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") medians_[name] = run;
      } else {
        single_[name] = run;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // nullptr when the benchmark did not run (filtered out, or it failed).
  [[nodiscard]] const Run* find(const std::string& name) const {
    if (auto it = medians_.find(name); it != medians_.end()) return &it->second;
    if (auto it = single_.find(name); it != single_.end()) return &it->second;
    return nullptr;
  }

  // What `get` reads off each round's run of a Rounds contender, round 1
  // first; 0 for a round where it did not run.
  template <typename Get>
  [[nodiscard]] std::vector<double> per_round(const std::string& name, int rounds, Get get) const {
    std::vector<double> values;
    for (int r = 1; r <= rounds; ++r) {
      const Run* run = find(Rounds::run_name(name, r));
      values.push_back(run != nullptr ? static_cast<double>(get(*run)) : 0.0);
    }
    return values;
  }
  [[nodiscard]] std::vector<double> per_round_counter(const std::string& name, int rounds,
                                                      const std::string& counter_name) const {
    return per_round(name, rounds, [&](const Run& run) {
      auto it = run.counters.find(counter_name);
      return it != run.counters.end() ? static_cast<double>(it->second) : 0.0;
    });
  }

  // A user counter of that benchmark, or 0 when it did not run.
  [[nodiscard]] double counter(const std::string& name, const std::string& counter_name) const {
    const Run* run = find(name);
    if (run == nullptr) return 0;
    auto it = run->counters.find(counter_name);
    return it != run->counters.end() ? static_cast<double>(it->second) : 0;
  }

 private:
  std::map<std::string, Run> medians_;
  std::map<std::string, Run> single_;
};

// Appends the figure unless one of its two sides did not run (a
// --benchmark_filter run, or a failed benchmark).
inline void add_if_measured(std::vector<Figure>& figures, Figure figure) {
  if (figure.value > 0 && figure.baseline_value > 0) figures.push_back(std::move(figure));
}

// What the moodycamel baselines move: the same bytes as an event's source,
// data and metadata, as one fixed-size item.
template <std::size_t Bytes>
struct Item {
  std::array<char, Bytes> bytes;
};

// The work every consumer does per event: read its first 8 bytes.
inline std::uint64_t first_word(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

}  // namespace tradpal::bench
