// tools/eventd/routes.h
//
// Routes: the HTTP API of CONTRACT.md §2 mounted on a Router. Handlers run
// on the loop thread: they validate (FastAPI's 422 shapes, 400 for unknown
// event types), then publish through the Publisher, read through
// RedisReaders, or answer from what the loop already knows (/health,
// /events/types). POST routes need `Authorization: Bearer <token>` when the
// service has a token.
#pragma once

#include "adapters/http/router.h"

namespace tradpal::eventd {

class Service;

class Routes {
 public:
  [[nodiscard]] static http::Router build(Service& service);
};

}  // namespace tradpal::eventd
