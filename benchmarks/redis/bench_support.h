// benchmarks/redis/bench_support.h
//
// What the Redis benchmark programs (redis_bench, cluster_bench,
// router_bench) share: the size knob, the redis-benchmark baseline, and the
// persister's throughput. Benchmark code only; one thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "adapters/redis/durability_tracker.h"
#include "adapters/redis/persister.h"

namespace tradpal::bench {

// TRADPAL_BENCH_SCALE (default 1; 0.02 makes a smoke run).
[[nodiscard]] double scale();

// Runs `redis-benchmark <where> -P 1024 -n <n> -q XADD <key> * event <payload>`
// (`where`: host, port, clients, --cluster) and returns its requests per
// second, or 0 (with its output on stderr) when it says something else.
// The payload and key must hold no single quote (they go through a shell).
[[nodiscard]] double redis_benchmark_xadd(const std::string& where, std::size_t n, const std::string& payload,
                                          const std::string& key);

// A Persister's options for `stream` at `url`, handing ids to `tracker`.
[[nodiscard]] redis::PersisterOptions persister_options(const std::string& url, const std::string& stream,
                                                        redis::DurabilityTracker* tracker);

// Publishes n market_data_update events with `data` on a bus whose
// Persister writes them to `stream` at `redis_url`; returns events per
// second until Redis acknowledged the last (every message id handed back).
[[nodiscard]] double persist_throughput(const std::string& redis_url, const std::string& stream, std::size_t n,
                                        std::string_view data);

// Writes n events with `data` (types cycling through all 16) to `stream`
// through a Persister, and waits until Redis has them all.
void fill_stream(const std::string& redis_url, const std::string& stream, std::size_t n, std::string_view data);

}  // namespace tradpal::bench
