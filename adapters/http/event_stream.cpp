#include "adapters/http/event_stream.h"

#include "adapters/http/detail/connection.h"
#include "adapters/http/detail/exchange.h"

namespace tradpal::http {

EventStream::EventStream(std::shared_ptr<detail::Exchange> exchange) noexcept : exchange_(std::move(exchange)) {}

EventStream& EventStream::operator=(EventStream&& other) noexcept {
  if (this != &other) {
    finish();
    exchange_ = std::move(other.exchange_);
  }
  return *this;
}

EventStream::~EventStream() { finish(); }

StreamWrite EventStream::write(std::string_view bytes) {
  if (!exchange_ || exchange_->connection == nullptr) return StreamWrite::kClientGone;
  return exchange_->connection->stream_write(*exchange_, bytes);
}

StreamWrite EventStream::send(std::string_view data, std::string_view event, std::string_view id) {
  if (!open()) return StreamWrite::kClientGone;
  return write(format_sse_event(data, event, id));
}

StreamWrite EventStream::comment(std::string_view text) {
  if (!open()) return StreamWrite::kClientGone;
  std::string line = ": ";
  line += text;
  line += "\n\n";
  return write(line);
}

void EventStream::on_close(std::function<void()> callback) {
  if (exchange_ && exchange_->state == detail::Exchange::State::kStreaming) {
    exchange_->on_stream_close = std::move(callback);
  }
}

void EventStream::finish() noexcept {
  if (!exchange_) return;
  std::shared_ptr<detail::Exchange> exchange = std::move(exchange_);
  exchange->on_stream_close = nullptr;
  if (exchange->connection == nullptr) return;
  try {
    exchange->connection->finish_stream(*exchange);
  } catch (...) {
    if (exchange->connection != nullptr) exchange->connection->close_now();
  }
}

void EventStream::abort() noexcept {
  if (!exchange_) return;
  std::shared_ptr<detail::Exchange> exchange = std::move(exchange_);
  exchange->on_stream_close = nullptr;
  if (exchange->connection != nullptr) exchange->connection->close_now();
}

bool EventStream::open() const noexcept {
  return exchange_ && exchange_->connection != nullptr &&
         exchange_->state == detail::Exchange::State::kStreaming;
}

std::size_t EventStream::unsent_bytes() const noexcept {
  if (!exchange_ || exchange_->connection == nullptr) return 0;
  return exchange_->connection->unsent_bytes(*exchange_);
}

std::chrono::milliseconds EventStream::stalled_for() const noexcept {
  if (!exchange_ || exchange_->connection == nullptr) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(exchange_->connection->output_stalled_ms());
}

std::string format_sse_event(std::string_view data, std::string_view event, std::string_view id) {
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 32);
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  // A newline inside the data would end the field: each line gets its own
  // `data:` field, which the client joins back with newlines.
  while (true) {
    const std::size_t nl = data.find('\n');
    out += "data: ";
    out += data.substr(0, nl);
    out += '\n';
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out += '\n';
  return out;
}

}  // namespace tradpal::http
