// adapters/http/router.h
//
// Router: the table of exact (method, path) routes the server dispatches to.
// Built before the Server is constructed, then read-only: the Server owns it
// and reads it on the loop thread. Unknown paths get 404 {"detail":"Not
// Found"}, known paths asked with another method 405 {"detail":"Method Not
// Allowed"} with an Allow field, as FastAPI answers. HEAD is served by the
// GET route (the server drops the body).
//
//   Router router;
//   router.get("/health", [](Request, Responder r) {
//     r.send_json(200, R"({"status":"healthy"})");
//   });
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/request.h"
#include "adapters/http/responder.h"

namespace tradpal::http {

// Called on the loop thread. The handler owns `request` and must eventually
// answer through `responder` (or let it go, which answers 500). An exception
// escaping a handler is caught, counted and logged; the request gets 500.
using Handler = std::function<void(Request request, Responder responder)>;

class Router {
 public:
  // Throws std::invalid_argument for a duplicate (method, path) or a path
  // not starting with '/'.
  Router& add(std::string method, std::string path, Handler handler);
  Router& get(std::string path, Handler handler) { return add("GET", std::move(path), std::move(handler)); }
  Router& post(std::string path, Handler handler) { return add("POST", std::move(path), std::move(handler)); }

  struct Match {
    const Handler* handler = nullptr;  // null: answer `status`
    std::string_view route;            // the route's path, stable while the Router lives
    int status = 404;                  // 404 or 405 when handler is null
    std::string allow;                 // for 405: the methods the path has
  };

  [[nodiscard]] Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    Handler handler;
  };
  // A node-based map: the keys' addresses (the route labels) never move.
  std::map<std::string, std::vector<Route>, std::less<>> paths_;
};

}  // namespace tradpal::http
