// benchmarks/redis/bench_support.h
//
// What the Redis benchmark programs (redis_bench, cluster_bench) share: the
// size knob and the redis-benchmark baseline. Benchmark code only; one
// thread.
#pragma once

#include <cstddef>
#include <string>

namespace tradpal::bench {

// TRADPAL_BENCH_SCALE (default 1; 0.02 makes a smoke run).
[[nodiscard]] double scale();

// Runs `redis-benchmark <where> -P 1024 -n <n> -q XADD <key> * event <payload>`
// (`where`: host, port, clients, --cluster) and returns its requests per
// second, or 0 (with its output on stderr) when it says something else.
// The payload and key must hold no single quote (they go through a shell).
[[nodiscard]] double redis_benchmark_xadd(const std::string& where, std::size_t n, const std::string& payload,
                                          const std::string& key);

}  // namespace tradpal::bench
