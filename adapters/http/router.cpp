#include "adapters/http/router.h"

#include <stdexcept>

namespace tradpal::http {

Router& Router::add(std::string method, std::string path, Handler handler) {
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("http route path must start with '/': " + path);
  }
  auto& routes = paths_[path];
  for (const auto& route : routes) {
    if (route.method == method) throw std::invalid_argument("duplicate http route: " + method + " " + path);
  }
  routes.push_back(Route{std::move(method), std::move(handler)});
  return *this;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  const auto it = paths_.find(path);
  if (it == paths_.end()) return m;
  m.route = it->first;
  const Route* get_route = nullptr;
  for (const auto& route : it->second) {
    if (route.method == method) {
      m.handler = &route.handler;
      return m;
    }
    if (route.method == "GET") get_route = &route;
  }
  if (method == "HEAD" && get_route != nullptr) {
    m.handler = &get_route->handler;
    return m;
  }
  m.status = 405;
  for (const auto& route : it->second) {
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += route.method;
  }
  return m;
}

}  // namespace tradpal::http
