// adapters/http/request_counters.h
//
// RequestCounters: how many answers were written per (method, route, status),
// for export as http_requests_total. Touched and read on the loop thread only.
// Labels are views into storage that outlives the counters (the Router's
// route table, http_parser's method names, string literals), so counting
// allocates only the first time a combination is seen.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <tuple>

namespace tradpal::http {

// Route label of requests no route matched (404, 405, preflights, and
// answers the server gave on its own: 400, 408, 413, 431, 503).
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

class RequestCounters {
 public:
  void add(std::string_view method, std::string_view route, int status) {
    ++counts_[Key{method, route, status}];
  }

  [[nodiscard]] std::uint64_t get(std::string_view method, std::string_view route, int status) const {
    const auto it = counts_.find(Key{method, route, status});
    return it == counts_.end() ? 0 : it->second;
  }

  // f(method, route, status, count) for every combination seen, sorted.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [key, count] : counts_) f(key.method, key.route, key.status, count);
  }

 private:
  struct Key {
    std::string_view method;
    std::string_view route;
    int status;
    bool operator<(const Key& o) const noexcept {
      return std::tie(route, method, status) < std::tie(o.route, o.method, o.status);
    }
  };
  std::map<Key, std::uint64_t> counts_;
};

}  // namespace tradpal::http
