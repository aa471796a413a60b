#include "adapters/http/cors.h"

#include <string>

namespace tradpal::http {

namespace {

// Starlette expands allow_methods=["*"] to this list, in this order.
constexpr std::string_view kAllMethods = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT";

}  // namespace

bool is_cors_preflight(const CorsPolicy& policy, std::string_view method,
                       const HeaderList& request_headers) noexcept {
  return policy.enabled && method == "OPTIONS" && find_header(request_headers, "Origin") &&
         find_header(request_headers, "Access-Control-Request-Method");
}

Response cors_preflight_response(const CorsPolicy& policy, const HeaderList& request_headers) {
  Response r = Response::text(200, "OK");
  const std::string_view origin = find_header(request_headers, "Origin").value_or("");
  if (policy.allow_credentials) {
    r.headers.emplace_back("Vary", "Origin");
    r.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  } else {
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  }
  r.headers.emplace_back("Access-Control-Allow-Methods", std::string(kAllMethods));
  r.headers.emplace_back("Access-Control-Max-Age", std::to_string(policy.max_age_seconds));
  if (auto requested = find_header(request_headers, "Access-Control-Request-Headers")) {
    r.headers.emplace_back("Access-Control-Allow-Headers", std::string(*requested));
  }
  if (policy.allow_credentials) r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
  return r;
}

void add_cors_headers(const CorsPolicy& policy, std::string_view origin, bool request_has_cookie,
                      HeaderList& response_headers) {
  if (!policy.enabled || origin.empty()) return;
  // A preflight answer (or a handler) has set them already: a second
  // Allow-Origin makes a browser refuse the answer.
  if (find_header(response_headers, "Access-Control-Allow-Origin")) return;
  if (policy.allow_credentials && request_has_cookie) {
    response_headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
    response_headers.emplace_back("Vary", "Origin");
  } else {
    response_headers.emplace_back("Access-Control-Allow-Origin", "*");
  }
  if (policy.allow_credentials) response_headers.emplace_back("Access-Control-Allow-Credentials", "true");
}

}  // namespace tradpal::http
