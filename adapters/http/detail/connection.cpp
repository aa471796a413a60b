#include "adapters/http/detail/connection.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "adapters/http/cors.h"
#include "adapters/http/server.h"
#include "adapters/http/detail/answer_bytes.h"

namespace tradpal::http::detail {

namespace {

constexpr std::size_t kReadBufferBytes = 64 * 1024;

}  // namespace

Connection::Connection(Server& server, bool reject)
    : server_(server),
      reject_(reject),
      reader_(server.config_),
      output_(server.loop_, &tcp_, *this),
      read_buffer_(new char[kReadBufferBytes]) {
  uv_tcp_init(server_.loop_, &tcp_);
  uv_timer_init(server_.loop_, &timer_);
  uv_idle_init(server_.loop_, &soon_);
  tcp_.data = this;
  timer_.data = this;
  soon_.data = this;
  last_activity_ = now();
}

Connection::~Connection() = default;

std::uint64_t Connection::now() const noexcept { return uv_now(server_.loop_); }

void Connection::start() {
  uv_tcp_nodelay(&tcp_, 1);
  if (reject_) fail(503, "Too many connections");
  update_reading();
  arm_timer();
}

// ---------------------------------------------------------------- input

void Connection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<Connection*>(handle->data);
  *buf = uv_buf_init(c->read_buffer_.get(), kReadBufferBytes);
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<Connection*>(stream->data);
  if (c->phase_ == Phase::kClosed) return;
  if (nread < 0) {
    // EOF or reset: the client has gone (it cannot read what it would be
    // owed, as the Python service also assumed), so pending answers are
    // dropped and their Responders become no-ops.
    c->close_now();
    return;
  }
  if (nread == 0 || c->phase_ == Phase::kAborting) return;
  c->last_activity_ = c->now();
  try {
    c->received(std::string_view(buf->base, static_cast<std::size_t>(nread)));
  } catch (const std::exception& e) {
    c->server_.log(std::string("http: connection failed: ") + e.what());
    c->close_now();
  } catch (...) {
    c->close_now();
  }
}

void Connection::received(std::string_view bytes) {
  if (phase_ != Phase::kOpen) {
    // No request may follow: the bytes are dropped, and reading goes on
    // only so that a client that hangs up is noticed.
    arm_timer();
    return;
  }
  reader_.append(bytes);
  // Handlers that answer at once (pipelined GETs) share one write.
  const Server::Corked corked(server_);
  read_requests();
}

// Reads requests while the pipeline has room. Requests that waited behind
// the limit are read from the idle handle (run_soon), not from pump():
// pump() runs inside Responder::send, and handlers dispatched from inside it
// would surprise a caller iterating over its own pending Responders.
void Connection::read_requests() {
  if (in_read_requests_) return;
  in_read_requests_ = true;
  // Both bounds hold for what was already read too: requests beyond them
  // wait, unparsed, until answers have gone out (output_taken resumes).
  while (phase_ == Phase::kOpen && queue_.size() < server_.config_.max_pipelined &&
         output_.unsent() <= server_.config_.max_unsent_bytes) {
    const RequestReader::Step step = reader_.read(now());
    if (step == RequestReader::Step::kNeedInput) break;
    if (step == RequestReader::Step::kRefused) {
      fail(reader_.status(), reader_.detail());
      break;
    }
    if (step == RequestReader::Step::kHeaders) {
      // A client that asked before sending its body gets the go-ahead,
      // unless an earlier answer is still owed: writing it now would break
      // answer order, and clients send the body anyway after a short wait.
      if (queue_.empty() && header_has_token(reader_.request().headers, "Expect", "100-continue")) {
        send(std::string(kContinueLine));
      }
      continue;
    }
    take_request();
  }
  in_read_requests_ = false;
  update_reading();
  arm_timer();
}

void Connection::take_request() {
  const RequestFrame& frame = reader_.frame();
  auto exchange = std::make_shared<Exchange>();
  exchange->connection = this;
  exchange->head_only = frame.head_only;
  exchange->http10 = frame.http10;
  exchange->keep_alive = frame.keep_alive;
  exchange->method_label = frame.method;
  const Request& request = reader_.request();
  if (auto origin = request.header("Origin")) exchange->origin = *origin;
  exchange->has_cookie = request.header("Cookie").has_value();
  if (!frame.keep_alive) finish();
  queue_.push_back(exchange);
  ++server_.stats_.requests;
  try {
    server_.dispatch(exchange, reader_.take_request());
  } catch (const std::exception& e) {
    server_.log(std::string("http: request dispatch failed: ") + e.what());
  } catch (...) {
    server_.log("http: request dispatch failed");
  }
  // Whatever failed before a Responder held the exchange leaves it owed.
  if (exchange->state == Exchange::State::kAwaiting && exchange->connection == this &&
      exchange.use_count() == 2) {
    answer(*exchange, Response::error(500, "Internal Server Error"));
  }
}

void Connection::update_reading() noexcept {
  if (phase_ == Phase::kClosed) return;
  // Requests are read while none waits unparsed and the client takes its
  // answers: past max_unsent_bytes of unread answers, or with bytes left
  // behind the pipeline limit, its requests wait in its own socket (TCP
  // back-pressure), not in our memory. Once no request may follow, input is
  // read and dropped so that a client that hangs up is noticed.
  bool want = true;
  if (phase_ == Phase::kOpen) {
    want = !reader_.has_input() && output_.unsent() <= server_.config_.max_unsent_bytes;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want && !reading_) {
    if (uv_read_start(stream, &Connection::on_alloc, &Connection::on_read) == 0) reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(stream);
    reading_ = false;
  }
}

// ---------------------------------------------------------------- answers

// Answers the request being read with an error the server decided on, after
// every earlier answer, and closes the connection after it.
void Connection::fail(int status, std::string_view detail) {
  finish();
  if (status < 500) ++server_.stats_.bad_requests;
  auto exchange = std::make_shared<Exchange>();
  exchange->connection = this;
  exchange->keep_alive = false;
  exchange->method_label = "";
  exchange->route_label = kUnmatchedRoute;
  queue_.push_back(exchange);
  answer(*exchange, Response::error(status, detail));
}

std::string Connection::head_for(Exchange& exchange, Response& response, bool streaming) {
  // Once no request is read any more, the last one queued is the
  // connection's last answer. The ones before it were taken (a publish may
  // already be on its way to Redis) and are answered first: a client that
  // saw "Connection: close" early would retry them.
  if (phase_ == Phase::kFinishing && !queue_.empty() && queue_.back().get() == &exchange) {
    exchange.keep_alive = false;
  }
  add_cors_headers(server_.config_.cors, exchange.origin, exchange.has_cookie, response.headers);
  return answer_head(exchange, response, streaming);
}

void Connection::answer(Exchange& exchange, Response&& response) {
  if (exchange.state != Exchange::State::kAwaiting || phase_ == Phase::kClosed) return;
  exchange.state = Exchange::State::kAnswered;
  server_.counters_.add(exchange.method_label, exchange.route_label, response.status);
  exchange.out = head_for(exchange, response, false);
  if (!exchange.head_only) exchange.out += response.body;
  pump(true);
}

void Connection::start_stream(Exchange& exchange, Response&& head) {
  if (exchange.state != Exchange::State::kAwaiting || phase_ == Phase::kClosed) return;
  if (!find_header(head.headers, "Content-Type")) head.headers.emplace_back("Content-Type", "text/event-stream");
  if (!find_header(head.headers, "Cache-Control")) head.headers.emplace_back("Cache-Control", "no-cache");
  // HTTP/1.0 has no chunked framing: the end of the stream is the end of
  // the connection.
  if (exchange.http10) {
    exchange.keep_alive = false;
  } else {
    exchange.chunked = true;
  }
  server_.counters_.add(exchange.method_label, exchange.route_label, head.status);
  exchange.out = head_for(exchange, head, true);
  if (exchange.head_only) {
    exchange.state = Exchange::State::kAnswered;
  } else {
    exchange.state = Exchange::State::kStreaming;
    ++server_.stats_.streams_open;
  }
  pump(true);
}

StreamWrite Connection::stream_write(Exchange& exchange, std::string_view bytes) {
  if (exchange.state != Exchange::State::kStreaming || !answering() || output_.failed()) {
    return StreamWrite::kClientGone;
  }
  if (bytes.empty()) return StreamWrite::kQueued;  // an empty chunk would end the stream
  if (unsent_bytes(exchange) + bytes.size() > server_.config_.max_stream_unsent_bytes) {
    return StreamWrite::kOverLimit;
  }
  if (exchange.chunked) {
    append_chunk(exchange.out, bytes);
  } else {
    exchange.out += bytes;
  }
  pump(false);
  return StreamWrite::kQueued;
}

void Connection::finish_stream(Exchange& exchange) {
  if (exchange.state != Exchange::State::kStreaming) return;
  exchange.state = Exchange::State::kFinished;
  exchange.on_stream_close = nullptr;
  --server_.stats_.streams_open;
  if (exchange.chunked) exchange.out += kLastChunk;
  pump(true);
}

std::size_t Connection::unsent_bytes(const Exchange& exchange) const noexcept {
  std::size_t n = exchange.out.size();
  if (!queue_.empty() && queue_.front().get() == &exchange) n += output_.unsent();
  return n;
}

void Connection::count_dropped_responder() noexcept { ++server_.stats_.responders_dropped; }

// Writes what the oldest exchanges have ready, in order, and retires the
// answered ones. An exchange that has not answered yet holds back everything
// behind it: that is what keeps pipelined answers in request order.
void Connection::pump(bool resume_reading) {
  while (answering() && !queue_.empty()) {
    // Held by value: a write can detach and drop the queue under us.
    const std::shared_ptr<Exchange> front = queue_.front();
    if (!front->out.empty()) {
      send(std::move(front->out));
      front->out.clear();
      if (!answering()) return;
    }
    if (front->state != Exchange::State::kAnswered && front->state != Exchange::State::kFinished) break;
    front->connection = nullptr;
    queue_.pop_front();
    if (!front->keep_alive) {
      begin_flush();
      return;
    }
  }
  if (phase_ == Phase::kFinishing && queue_.empty()) {
    begin_flush();
    return;
  }
  if (phase_ != Phase::kOpen) return;
  if (resume_reading && reader_.has_input() && !in_read_requests_) {
    resume_soon_ = true;
    run_soon();
  }
  arm_timer();
}

void Connection::send(std::string bytes) {
  if (phase_ == Phase::kClosed || phase_ == Phase::kAborting || phase_ == Phase::kShutdown ||
      phase_ == Phase::kLingering || bytes.empty()) {
    return;
  }
  if (server_.corked()) {
    output_.gather(bytes);
    if (!in_cork_list_) {
      in_cork_list_ = true;
      server_.corked_.push_back(this);
    }
    return;
  }
  if (output_.write(std::move(bytes)) == Output::Sent::kAll) last_activity_ = now();
  update_reading();  // a client that does not read gets no more requests read
}

void Connection::flush_corked() noexcept {
  in_cork_list_ = false;
  if (phase_ == Phase::kClosed || phase_ == Phase::kAborting) return;
  try {
    if (output_.flush_gathered() == Output::Sent::kAll) last_activity_ = now();
  } catch (...) {
    abort_soon();
    return;
  }
  // A flush that went out whole brings no output_taken() to resume them.
  resume_if_room();
  update_reading();
  // A close that waited for this output may go ahead now.
  shutdown_if_flushed();
}

// Requests read before the client stopped taking answers wait, unparsed,
// for their output to go: read them on the next loop turn once it has.
void Connection::resume_if_room() noexcept {
  if (phase_ == Phase::kOpen && reader_.has_input() && !in_read_requests_ &&
      output_.unsent() <= server_.config_.max_unsent_bytes) {
    resume_soon_ = true;
    run_soon();
  }
}

void Connection::output_taken() noexcept {
  if (phase_ == Phase::kClosed || phase_ == Phase::kAborting) return;
  last_activity_ = now();
  shutdown_if_flushed();
  resume_if_room();
  update_reading();
  arm_timer();
}

// A failed write means the client is gone.
void Connection::output_failed() noexcept { abort_soon(); }

// ---------------------------------------------------------------- phase changes

void Connection::finish() noexcept {
  if (phase_ == Phase::kOpen) phase_ = Phase::kFinishing;
  reader_.stop();
}

void Connection::begin_flush() {
  if (!answering()) return;
  phase_ = Phase::kFlushing;
  reader_.stop();
  shutdown_if_flushed();
  update_reading();
  arm_timer();
}

void Connection::shutdown_if_flushed() {
  if (phase_ != Phase::kFlushing || !output_.flushed()) return;
  phase_ = Phase::kShutdown;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::on_shutdown) != 0) {
    close_now();
  }
}

void Connection::on_shutdown(uv_shutdown_t* req, int status) noexcept {
  auto* c = static_cast<Connection*>(req->data);
  if (c->phase_ != Phase::kShutdown) return;
  if (status < 0) {
    c->close_now();
    return;
  }
  // Our FIN is out. Read and discard until the client closes too (or the
  // linger time passes): closing with unread input would send a reset that
  // can destroy the answer before the client has read it.
  c->phase_ = Phase::kLingering;
  c->linger_started_ = c->now();
  c->update_reading();
  c->arm_timer();
}

// Closing is deferred to the next loop turn so that the code that wrote
// (possibly user code holding an EventStream) never sees its objects
// destroyed under it.
void Connection::abort_soon() noexcept {
  if (phase_ == Phase::kClosed || phase_ == Phase::kAborting) return;
  phase_ = Phase::kAborting;
  uv_timer_stop(&timer_);
  run_soon();
}

void Connection::run_soon() noexcept {
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&soon_))) uv_idle_start(&soon_, &Connection::on_soon);
}

void Connection::on_soon(uv_idle_t* idle) noexcept {
  auto* c = static_cast<Connection*>(idle->data);
  uv_idle_stop(idle);
  if (c->phase_ == Phase::kClosed) return;
  if (c->phase_ == Phase::kAborting) {
    c->close_now();
    return;
  }
  if (!c->resume_soon_) return;
  c->resume_soon_ = false;
  try {
    const Server::Corked corked(c->server_);
    c->read_requests();
  } catch (...) {
    c->close_now();
  }
}

void Connection::drain() {
  if (!answering()) return;
  finish();
  // Streams never end on their own: end them and tell their owners.
  std::deque<std::shared_ptr<Exchange>> queued = queue_;
  for (const auto& exchange : queued) {
    if (exchange->state != Exchange::State::kStreaming) continue;
    auto callback = std::move(exchange->on_stream_close);
    finish_stream(*exchange);
    run_stream_close(std::move(callback));
    if (!answering()) return;
  }
  if (queue_.empty()) {
    begin_flush();
  } else {
    pump(false);
  }
}

void Connection::close_now() noexcept {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  reader_.stop();
  if (!reject_) --server_.stats_.connections_open;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  uv_timer_stop(&timer_);
  uv_idle_stop(&soon_);
  std::deque<std::shared_ptr<Exchange>> detached;
  detached.swap(queue_);
  for (const auto& exchange : detached) {
    exchange->connection = nullptr;
    if (exchange->state == Exchange::State::kStreaming) --server_.stats_.streams_open;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&soon_), &Connection::on_handle_closed);
  for (const auto& exchange : detached) {
    if (exchange->state != Exchange::State::kStreaming || !exchange->on_stream_close) continue;
    auto callback = std::move(exchange->on_stream_close);
    exchange->on_stream_close = nullptr;
    run_stream_close(std::move(callback));
  }
}

void Connection::run_stream_close(std::function<void()> callback) noexcept {
  if (!callback) return;
  try {
    callback();
  } catch (const std::exception& e) {
    server_.log(std::string("http: stream close callback threw: ") + e.what());
  } catch (...) {
    server_.log("http: stream close callback threw");
  }
}

void Connection::on_handle_closed(uv_handle_t* handle) noexcept {
  auto* c = static_cast<Connection*>(handle->data);
  if (++c->closed_handles_ == 3) c->server_.forget(c);  // deletes c
}

// ---------------------------------------------------------------- deadlines

Connection::Due Connection::due() const noexcept {
  const ServerConfig& config = server_.config_;
  const auto after = [](std::uint64_t since, std::chrono::milliseconds d) {
    return since + static_cast<std::uint64_t>(d.count());
  };
  switch (phase_) {
    case Phase::kOpen: {
      const RequestReader::Phase input = reader_.phase();
      if (input == RequestReader::Phase::kBetween) {
        // Waiting for a handler is its business; waiting for the client's
        // next request is the client's.
        if (!queue_.empty()) return {};
        return {Deadline::kIdle, after(last_activity_, config.idle_timeout)};
      }
      // A request being received has a deadline of its own, whatever else waits.
      Due d{Deadline::kRequest, after(reader_.began_at(), config.request_timeout)};
      if (input == RequestReader::Phase::kHeaders) {
        const std::uint64_t headers = after(reader_.began_at(), config.header_timeout);
        if (headers < d.at) d = {Deadline::kHeaders, headers};
      } else if (queue_.empty()) {
        // The rest of a body: the client must keep sending.
        const std::uint64_t idle = after(last_activity_, config.idle_timeout);
        if (idle < d.at) d = {Deadline::kIdle, idle};
      }
      return d;
    }
    case Phase::kFinishing:
      return {};  // answers owed: the handlers' business
    case Phase::kFlushing:
    case Phase::kShutdown:
      // Waiting for the client to take our last answer.
      return {Deadline::kIdle, after(last_activity_, config.idle_timeout)};
    case Phase::kLingering:
      return {Deadline::kLinger, after(linger_started_, config.linger_timeout)};
    case Phase::kAborting:
    case Phase::kClosed:
      return {};
  }
  return {};
}

void Connection::arm_timer() noexcept {
  const Due d = due();
  if (d.kind == Deadline::kNone) {
    uv_timer_stop(&timer_);
    return;
  }
  const std::uint64_t t = now();
  uv_timer_start(&timer_, &Connection::on_timer, d.at > t ? d.at - t : 0, 0);
}

void Connection::on_timer(uv_timer_t* timer) noexcept {
  auto* c = static_cast<Connection*>(timer->data);
  const Due d = c->due();
  if (d.kind == Deadline::kNone) return;
  if (c->now() < d.at) {
    c->arm_timer();
    return;
  }
  try {
    c->timed_out(d.kind);
  } catch (...) {
    c->close_now();
  }
}

void Connection::timed_out(Deadline kind) {
  if (kind == Deadline::kLinger) {
    close_now();
    return;
  }
  ++server_.stats_.timeouts;
  if (phase_ == Phase::kOpen && reader_.phase() != RequestReader::Phase::kBetween) {
    fail(408, "Request Timeout");
    return;
  }
  close_now();
}

}  // namespace tradpal::http::detail
