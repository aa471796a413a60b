#include "adapters/http/responder.h"

#include "adapters/http/detail/connection.h"
#include "adapters/http/detail/exchange.h"

namespace tradpal::http {

Responder::Responder(std::shared_ptr<detail::Exchange> exchange) noexcept : exchange_(std::move(exchange)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    abandon();
    exchange_ = std::move(other.exchange_);
  }
  return *this;
}

Responder::~Responder() { abandon(); }

void Responder::abandon() noexcept {
  if (!exchange_) return;
  std::shared_ptr<detail::Exchange> exchange = std::move(exchange_);
  if (exchange->state != detail::Exchange::State::kAwaiting || exchange->connection == nullptr) return;
  exchange->connection->count_dropped_responder();
  try {
    exchange->connection->answer(*exchange, Response::error(500, "Internal Server Error"));
  } catch (...) {
    // Out of memory while answering: the connection cannot carry on in order.
    if (exchange->connection != nullptr) exchange->connection->close_now();
  }
}

void Responder::send(Response response) {
  if (!exchange_) return;
  std::shared_ptr<detail::Exchange> exchange = std::move(exchange_);
  if (exchange->state != detail::Exchange::State::kAwaiting) return;
  if (exchange->connection == nullptr) {
    exchange->state = detail::Exchange::State::kAnswered;
    return;
  }
  exchange->connection->answer(*exchange, std::move(response));
}

EventStream Responder::start_stream(Response head) {
  if (!exchange_) return EventStream();
  std::shared_ptr<detail::Exchange> exchange = std::move(exchange_);
  if (exchange->state != detail::Exchange::State::kAwaiting || exchange->connection == nullptr) {
    return EventStream();
  }
  exchange->connection->start_stream(*exchange, std::move(head));
  return EventStream(std::move(exchange));
}

bool Responder::pending() const noexcept {
  return exchange_ && exchange_->state == detail::Exchange::State::kAwaiting;
}

bool Responder::connected() const noexcept { return pending() && exchange_->connection != nullptr; }

}  // namespace tradpal::http
