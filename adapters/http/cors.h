// adapters/http/cors.h
//
// CorsPolicy: the CORS answers of Starlette's CORSMiddleware configured with
// allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], which is what
// the Python TradPal services run. Pure functions of the request headers;
// the server applies them to every answer, so routes never see preflights.
//
//   request with Origin            -> Access-Control-Allow-Origin: *
//   OPTIONS + Origin +
//   Access-Control-Request-Method  -> 200 "OK", allow-origin, allow-methods
//                                     (all), allow-headers (echo of the
//                                     requested ones), max-age 600
//
// With allow_credentials the origin is echoed instead of `*` on preflights
// and on requests that carry a Cookie (as Starlette does), with
// `Vary: Origin` and `Access-Control-Allow-Credentials: true`.
#pragma once

#include "adapters/http/headers.h"
#include "adapters/http/response.h"

namespace tradpal::http {

struct CorsPolicy {
  bool enabled = true;
  bool allow_credentials = false;
  int max_age_seconds = 600;
};

// True for a CORS preflight: OPTIONS with Origin and
// Access-Control-Request-Method (Starlette's definition).
[[nodiscard]] bool is_cors_preflight(const CorsPolicy& policy, std::string_view method,
                                     const HeaderList& request_headers) noexcept;

// The complete answer to a preflight.
[[nodiscard]] Response cors_preflight_response(const CorsPolicy& policy,
                                               const HeaderList& request_headers);

// Adds the fields of a simple (non-preflight) CORS answer to `response`
// when the request had an Origin; does nothing otherwise.
void add_cors_headers(const CorsPolicy& policy, std::string_view origin, bool request_has_cookie,
                      HeaderList& response_headers);

}  // namespace tradpal::http
