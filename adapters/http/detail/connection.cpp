#include "adapters/http/detail/connection.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <exception>
#include <new>
#include <utility>

#include "adapters/http/cors.h"
#include "adapters/http/server.h"

namespace tradpal::http::detail {

namespace {

constexpr std::size_t kReadBufferBytes = 64 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A write that libuv still references: the bytes must live until on_write.
struct WriteRequest {
  uv_write_t req{};
  Connection* connection = nullptr;
  std::string bytes;
};

Connection* self(http_parser* p) noexcept { return static_cast<Connection*>(p->data); }

// Extracts the path and query of an origin-form or absolute-form target.
void split_target(Request& r) {
  std::string_view target = r.target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    target.remove_prefix(target.find("//") + 2);
    const std::size_t slash = target.find_first_of("/?");
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  target = target.substr(0, target.find('#'));
  const std::size_t question = target.find('?');
  r.path = percent_decode(target.substr(0, question), false);
  if (r.path.empty()) r.path = "/";
  if (question != std::string_view::npos) parse_query(target.substr(question + 1), r.query_params);
}

void append_hex(std::string& out, std::size_t n) {
  char buf[2 * sizeof(std::size_t) + 1];
  const int len = std::snprintf(buf, sizeof buf, "%zx", n);
  out.append(buf, static_cast<std::size_t>(len));
}

}  // namespace

const http_parser_settings Connection::kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = &Connection::on_message_begin;
  s.on_url = &Connection::on_url;
  s.on_header_field = &Connection::on_header_field;
  s.on_header_value = &Connection::on_header_value;
  s.on_headers_complete = &Connection::on_headers_complete;
  s.on_body = &Connection::on_body;
  s.on_message_complete = &Connection::on_message_complete;
  return s;
}();

Connection::Connection(Server& server, bool reject)
    : server_(server), reject_(reject), read_buffer_(new char[kReadBufferBytes]) {
  uv_tcp_init(server_.loop_, &tcp_);
  uv_timer_init(server_.loop_, &timer_);
  tcp_.data = this;
  timer_.data = this;
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  last_activity_ = now();
}

Connection::~Connection() = default;

std::uint64_t Connection::now() const noexcept { return uv_now(server_.loop_); }

void Connection::start() {
  uv_tcp_nodelay(&tcp_, 1);
  if (reject_) {
    fail(503, "Too many connections");
  }
  update_reading();
  arm_timer();
}

// ---------------------------------------------------------------- parsing

int Connection::on_message_begin(http_parser* p) noexcept {
  Connection* c = self(p);
  // Bytes after a request that ends the connection are not requests.
  if (c->no_more_requests_ || c->closing_) return 1;
  c->request_ = Request{};
  c->header_bytes_ = 0;
  c->last_was_value_ = false;
  c->in_message_ = true;
  c->in_headers_ = true;
  c->message_started_ = c->now();
  c->arm_timer();
  return 0;
}

int Connection::on_url(http_parser* p, const char* at, std::size_t len) noexcept {
  Connection* c = self(p);
  try {
    c->header_bytes_ += len;
    if (c->header_bytes_ > c->server_.config_.max_header_bytes) {
      c->error_status_ = 414;
      c->error_detail_ = "URI Too Long";
      return 1;
    }
    c->request_.target.append(at, len);
    return 0;
  } catch (...) {
    c->error_status_ = 500;
    return 1;
  }
}

// The request line and header fields (and a chunked body's trailer) share
// one byte budget; past it, or past the field count, the answer is 431.
int Connection::refuse_oversized_headers() noexcept {
  error_status_ = 431;
  error_detail_ = "Request Header Fields Too Large";
  return 1;
}

int Connection::on_header_field(http_parser* p, const char* at, std::size_t len) noexcept {
  Connection* c = self(p);
  try {
    c->header_bytes_ += len + 4;  // ": " and CRLF belong to the budget too
    const bool too_large = c->header_bytes_ > c->server_.config_.max_header_bytes;
    if (!c->in_headers_) {
      // A chunked body's trailer section: counted against the header budget,
      // never merged into the headers (a credential or a framing field there
      // must not count as if the client had sent it up front).
      return too_large ? c->refuse_oversized_headers() : 0;
    }
    // Field names and values may each arrive in pieces across reads.
    if (c->last_was_value_ || c->request_.headers.empty()) {
      c->request_.headers.emplace_back();
      c->last_was_value_ = false;
    }
    if (too_large || c->request_.headers.size() > c->server_.config_.max_header_count) {
      return c->refuse_oversized_headers();
    }
    c->request_.headers.back().first.append(at, len);
    return 0;
  } catch (...) {
    c->error_status_ = 500;
    return 1;
  }
}

int Connection::on_header_value(http_parser* p, const char* at, std::size_t len) noexcept {
  Connection* c = self(p);
  try {
    c->header_bytes_ += len;
    if (c->header_bytes_ > c->server_.config_.max_header_bytes) return c->refuse_oversized_headers();
    if (!c->in_headers_) return 0;  // a trailer value: budget only (see on_header_field)
    if (c->request_.headers.empty()) c->request_.headers.emplace_back();
    c->last_was_value_ = true;
    c->request_.headers.back().second.append(at, len);
    return 0;
  } catch (...) {
    c->error_status_ = 500;
    return 1;
  }
}

int Connection::on_headers_complete(http_parser* p) noexcept {
  Connection* c = self(p);
  try {
    return c->headers_complete();
  } catch (...) {
    c->error_status_ = 500;
    return -1;
  }
}

// The header fields that decide where a request ends, and Host, as RFC 9112
// wants them (the parser is lenient): null when acceptable, else why not.
const char* Connection::framing_fields_refused(const Request& request) const noexcept {
  std::size_t hosts = 0;
  std::size_t codings = 0;
  bool chunked_last = false;
  bool chunked_twice = false;
  bool other_coding = false;
  for (const auto& [field, value] : request.headers) {
    if (iequals(field, "Host")) ++hosts;
    if (!iequals(field, "Transfer-Encoding")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view coding = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
      if (coding.empty()) continue;
      ++codings;
      if (iequals(coding, "chunked")) {
        chunked_twice = chunked_twice || chunked_last;
        chunked_last = true;
      } else {
        other_coding = true;
        chunked_last = false;
      }
    }
  }
  if (request.http_minor >= 1 && hosts != 1) return "Bad Request: an HTTP/1.1 request needs exactly one Host field";
  if (hosts > 1) return "Bad Request: more than one Host field";
  if (codings == 0) return nullptr;
  if (request.http_minor == 0) return "Bad Request: Transfer-Encoding in an HTTP/1.0 request";
  if (!chunked_last || chunked_twice) return "Bad Request: chunked must be the last transfer coding, once";
  if (other_coding) return "Not Implemented: transfer codings other than chunked";
  return nullptr;
}

int Connection::headers_complete() {
  const ServerConfig& config = server_.config_;
  in_headers_ = false;
  if (parser_.http_major != 1) {
    error_status_ = 400;
    error_detail_ = "Unsupported HTTP version";
    return -1;
  }
  request_.method = http_method_str(static_cast<enum http_method>(parser_.method));
  request_.http_major = parser_.http_major;
  request_.http_minor = parser_.http_minor;
  split_target(request_);
  if (const char* why = framing_fields_refused(request_)) {
    error_status_ = std::string_view(why).starts_with("Not Implemented") ? 501 : 400;
    error_detail_ = why;
    return -1;
  }
  if (parser_.flags & F_CHUNKED) {
    if (!config.accept_chunked_bodies) {
      error_status_ = 411;
      error_detail_ = "Chunked request bodies are not accepted; send Content-Length";
      return -1;
    }
  } else if (parser_.content_length != ULLONG_MAX && parser_.content_length > config.max_body_bytes) {
    error_status_ = 413;
    error_detail_ = "Request body too large";
    return -1;
  }
  if (parser_.flags & F_CHUNKED) {
    framing_.body(FramingCheck::Body::chunked);
  } else if (parser_.content_length != ULLONG_MAX) {
    framing_.body(FramingCheck::Body::length, parser_.content_length);
  } else {
    framing_.body(FramingCheck::Body::none);
  }
  // A client that asked before sending its body gets the go-ahead, unless an
  // earlier answer is still owed: writing it now would break answer order,
  // and clients send the body anyway after a short wait.
  if (queue_.empty() && header_has_token(request_.headers, "Expect", "100-continue")) {
    write_bytes(std::string(kContinue));
  }
  arm_timer();
  return 0;
}

int Connection::on_body(http_parser* p, const char* at, std::size_t len) noexcept {
  Connection* c = self(p);
  try {
    if (c->request_.body.size() + len > c->server_.config_.max_body_bytes) {
      c->error_status_ = 413;
      c->error_detail_ = "Request body too large";
      return 1;
    }
    c->request_.body.append(at, len);
    return 0;
  } catch (...) {
    c->error_status_ = 500;
    return 1;
  }
}

int Connection::on_message_complete(http_parser* p) noexcept {
  Connection* c = self(p);
  try {
    return c->message_complete();
  } catch (const std::exception& e) {
    c->server_.log(std::string("http: request dispatch failed: ") + e.what());
    c->error_status_ = 500;
    return 1;
  } catch (...) {
    c->error_status_ = 500;
    return 1;
  }
}

int Connection::message_complete() {
  in_message_ = false;
  auto exchange = std::make_shared<Exchange>();
  exchange->connection = this;
  exchange->head_only = parser_.method == HTTP_HEAD;
  exchange->http10 = parser_.http_minor == 0;
  exchange->keep_alive = http_should_keep_alive(&parser_) != 0 && !parser_.upgrade;
  exchange->method_label = http_method_str(static_cast<enum http_method>(parser_.method));
  if (auto origin = request_.header("Origin")) exchange->origin = *origin;
  exchange->has_cookie = request_.header("Cookie").has_value();
  if (!exchange->keep_alive) no_more_requests_ = true;
  queue_.push_back(exchange);
  ++server_.stats_.requests;
  server_.dispatch(exchange, std::move(request_));
  // The parser stops right after each request: the framing check looks at
  // the next one before it does, and at the pipelining limit parsing waits
  // for answers to go out.
  framing_.next_message();
  http_parser_pause(&parser_, 1);
  arm_timer();
  return 0;
}

void Connection::parse_backlog() {
  if (parsing_ || closing_) return;
  parsing_ = true;
  while (!backlog_.empty() && !no_more_requests_ && !closing_ &&
         queue_.size() < server_.config_.max_pipelined) {
    // The parser sees only what the framing check passed: at most one
    // header section or one message at a time.
    const FramingCheck::Verdict verdict = framing_.check(backlog_);
    if (verdict.error != nullptr) {
      fail(400, verdict.error);
      break;
    }
    if (verdict.accepted == 0) break;
    const std::size_t parsed = http_parser_execute(&parser_, &kSettings, backlog_.data(), verdict.accepted);
    const auto err = HTTP_PARSER_ERRNO(&parser_);
    backlog_.erase(0, parsed);
    if (err == HPE_PAUSED) {
      http_parser_pause(&parser_, 0);
      continue;
    }
    if (closing_ || no_more_requests_) break;
    if (err == HPE_OK && framing_.awaiting_body()) {
      // The check saw the header section end here and the parser did not:
      // they read the request differently, so it is not answered.
      fail(400, "Bad Request: malformed request");
      break;
    }
    if (err != HPE_OK) {
      if (error_status_ == 0) {
        error_status_ = err == HPE_HEADER_OVERFLOW ? 431 : 400;
        error_detail_ = err == HPE_HEADER_OVERFLOW ? "Request Header Fields Too Large" : "Bad Request";
      }
      fail(error_status_, error_detail_);
      break;
    }
    // Whatever follows an Upgrade or CONNECT request is another protocol,
    // which this server does not speak: answer the request, then close.
    if (parser_.upgrade) no_more_requests_ = true;
  }
  if (no_more_requests_) backlog_.clear();
  parsing_ = false;
  update_reading();
}

// Answers the request being parsed with an error the server decided on, after
// every earlier answer, and closes the connection after it.
void Connection::fail(int status, std::string_view detail) {
  no_more_requests_ = true;
  in_message_ = false;
  in_headers_ = false;
  backlog_.clear();
  if (status < 500) ++server_.stats_.bad_requests;
  auto exchange = std::make_shared<Exchange>();
  exchange->connection = this;
  exchange->keep_alive = false;
  exchange->method_label = "";
  exchange->route_label = kUnmatchedRoute;
  queue_.push_back(exchange);
  answer(*exchange, Response::error(status, detail));
}

// ---------------------------------------------------------------- answers

std::string Connection::serialize_head(Exchange& exchange, Response& response, bool streaming) {
  // Once shutdown has begun no request is read any more, so the last one
  // queued is the connection's last answer. The ones before it were taken
  // (a publish may already be on its way to Redis) and are answered first:
  // a client that saw "Connection: close" early would retry them.
  if (draining_ && !queue_.empty() && queue_.back().get() == &exchange) exchange.keep_alive = false;
  add_cors_headers(server_.config_.cors, exchange.origin, exchange.has_cookie, response.headers);

  std::string head;
  head.reserve(256 + response.body.size());
  head += exchange.http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  head += reason_phrase(response.status);
  head += "\r\n";
  for (const auto& [field, value] : response.headers) {
    // The server owns the framing fields; a handler's copy would contradict it.
    if (iequals(field, "Content-Length") || iequals(field, "Transfer-Encoding") ||
        iequals(field, "Connection")) {
      continue;
    }
    head += field;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (streaming) {
    if (exchange.chunked) head += "Transfer-Encoding: chunked\r\n";
  } else if (response.status >= 200 && response.status != 204 && response.status != 304) {
    head += "Content-Length: ";
    head += std::to_string(response.body.size());
    head += "\r\n";
  }
  if (!exchange.keep_alive) {
    head += "Connection: close\r\n";
  } else if (exchange.http10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

void Connection::answer(Exchange& exchange, Response&& response) {
  if (exchange.state != Exchange::State::kAwaiting || closing_) return;
  exchange.state = Exchange::State::kAnswered;
  server_.counters_.add(exchange.method_label, exchange.route_label, response.status);
  exchange.out = serialize_head(exchange, response, false);
  if (!exchange.head_only) exchange.out += response.body;
  pump(true);
}

void Connection::start_stream(Exchange& exchange, Response&& head) {
  if (exchange.state != Exchange::State::kAwaiting || closing_) return;
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
  exchange.out = serialize_head(exchange, head, true);
  if (exchange.head_only) {
    exchange.state = Exchange::State::kAnswered;
  } else {
    exchange.state = Exchange::State::kStreaming;
    ++server_.stats_.streams_open;
  }
  pump(true);
}

StreamWrite Connection::stream_write(Exchange& exchange, std::string_view bytes) {
  if (exchange.state != Exchange::State::kStreaming || closing_ || write_failed_) {
    return StreamWrite::kClientGone;
  }
  if (bytes.empty()) return StreamWrite::kQueued;  // an empty chunk would end the stream
  if (unsent_bytes(exchange) + bytes.size() > server_.config_.max_stream_unsent_bytes) {
    return StreamWrite::kOverLimit;
  }
  if (exchange.chunked) {
    append_hex(exchange.out, bytes.size());
    exchange.out += "\r\n";
    exchange.out += bytes;
    exchange.out += "\r\n";
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
  if (exchange.chunked) exchange.out += "0\r\n\r\n";
  pump(true);
}

std::size_t Connection::unsent_bytes(const Exchange& exchange) const noexcept {
  std::size_t n = exchange.out.size();
  if (!queue_.empty() && queue_.front().get() == &exchange) n += unsent_total();
  return n;
}

std::uint64_t Connection::output_stalled_ms() const noexcept {
  if (writes_in_flight_ == 0) return 0;
  const std::uint64_t t = now();
  return t > output_since_ ? t - output_since_ : 0;
}

std::size_t Connection::unsent_total() const noexcept {
  return corked_out_.size() + uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

void Connection::count_dropped_responder() noexcept { ++server_.stats_.responders_dropped; }

// Writes what the oldest exchanges have ready, in order, and retires the
// answered ones. An exchange that has not answered yet holds back everything
// behind it: that is what keeps pipelined answers in request order.
void Connection::pump(bool resume_parsing) {
  while (!closing_ && !queue_.empty()) {
    // Held by value: a write can detach and drop the queue under us.
    const std::shared_ptr<Exchange> front = queue_.front();
    if (!front->out.empty()) {
      write_bytes(std::move(front->out));
      front->out.clear();
      if (closing_) return;
    }
    if (front->state != Exchange::State::kAnswered && front->state != Exchange::State::kFinished) break;
    front->connection = nullptr;
    queue_.pop_front();
    if (!front->keep_alive) {
      close_after_flush();
      return;
    }
  }
  if (closing_) return;
  if (queue_.empty() && draining_) {
    close_after_flush();
    return;
  }
  if (resume_parsing) schedule_resume();
  arm_timer();
}

// Requests that waited behind the pipeline limit are parsed from the timer
// callback, not from here: pump() runs inside Responder::send, and handlers
// dispatched from inside it would surprise a caller iterating over its own
// pending Responders.
void Connection::schedule_resume() noexcept {
  if (resume_pending_ || parsing_ || closing_ || write_failed_ || no_more_requests_ || backlog_.empty()) return;
  resume_pending_ = true;
  uv_timer_start(&timer_, &Connection::on_timer, 0, 0);
}

void Connection::write_bytes(std::string bytes) {
  if (closing_ || shutdown_started_ || write_failed_ || bytes.empty()) return;
  if (server_.corked()) {
    corked_out_ += bytes;
    if (!in_cork_list_) {
      in_cork_list_ = true;
      server_.corked_.push_back(this);
    }
    return;
  }
  write_now(std::move(bytes));
}

void Connection::flush_corked() noexcept {
  in_cork_list_ = false;
  if (closing_ || corked_out_.empty()) return;
  std::string bytes;
  bytes.swap(corked_out_);
  try {
    write_now(std::move(bytes));
  } catch (...) {
    fail_soon();
    return;
  }
  // A close that waited for this output may go ahead now.
  shutdown_if_flushed();
}

void Connection::shutdown_if_flushed() {
  if (flush_then_close_ && !shutdown_started_ && writes_in_flight_ == 0 && corked_out_.empty()) start_shutdown();
}

void Connection::write_now(std::string bytes) {
  if (closing_ || shutdown_started_ || write_failed_ || bytes.empty()) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  // Nothing was waiting: whatever waits from here waits since now.
  if (writes_in_flight_ == 0) output_since_ = now();
  // Most answers fit the socket buffer: try writing them at once and keep
  // only the remainder for an asynchronous write. Only with nothing queued,
  // or the bytes would overtake earlier ones.
  if (writes_in_flight_ == 0) {
    uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
    const int written = uv_try_write(stream, &buf, 1);
    if (written == static_cast<int>(bytes.size())) {
      last_activity_ = now();
      return;
    }
    if (written > 0) {
      bytes.erase(0, static_cast<std::size_t>(written));
    } else if (written != UV_EAGAIN) {
      fail_soon();
      return;
    }
  }
  auto* w = new WriteRequest;
  w->bytes = std::move(bytes);
  w->req.data = w;
  w->connection = this;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  if (uv_write(&w->req, stream, &buf, 1, &Connection::on_write) != 0) {
    delete w;
    fail_soon();
    return;
  }
  ++writes_in_flight_;
  update_reading();  // a client that does not read gets no more requests read
}

void Connection::on_write(uv_write_t* req, int status) noexcept {
  auto* w = static_cast<WriteRequest*>(req->data);
  Connection* c = w->connection;
  delete w;
  --c->writes_in_flight_;
  if (c->closing_) return;
  if (status < 0) {
    c->fail_soon();
    return;
  }
  c->last_activity_ = c->now();
  c->output_since_ = c->last_activity_;  // the client took a whole write
  c->shutdown_if_flushed();
  c->update_reading();
  c->arm_timer();
}

// A failed write means the client is gone. Closing is deferred to the timer
// callback so that the code that wrote (possibly user code holding an
// EventStream) never sees its objects destroyed under it.
void Connection::fail_soon() noexcept {
  if (write_failed_ || closing_) return;
  write_failed_ = true;
  uv_timer_start(&timer_, &Connection::on_timer, 0, 0);
}

// ---------------------------------------------------------------- closing

void Connection::close_after_flush() {
  no_more_requests_ = true;
  backlog_.clear();
  if (flush_then_close_) return;
  flush_then_close_ = true;
  shutdown_if_flushed();
  update_reading();
  arm_timer();
}

void Connection::start_shutdown() {
  shutdown_started_ = true;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::on_shutdown) != 0) {
    close_now();
  }
}

void Connection::on_shutdown(uv_shutdown_t* req, int status) noexcept {
  auto* c = static_cast<Connection*>(req->data);
  if (c->closing_) return;
  if (status < 0) {
    c->close_now();
    return;
  }
  // Our FIN is out. Read and discard until the client closes too (or the
  // linger time passes): closing with unread input would send a reset that
  // can destroy the answer before the client has read it.
  c->lingering_ = true;
  c->linger_started_ = c->now();
  c->update_reading();
  c->arm_timer();
}

void Connection::drain() {
  if (closing_) return;
  draining_ = true;
  no_more_requests_ = true;
  in_message_ = false;
  in_headers_ = false;
  backlog_.clear();
  // Streams never end on their own: end them and tell their owners.
  std::deque<std::shared_ptr<Exchange>> queued = queue_;
  for (const auto& exchange : queued) {
    if (exchange->state != Exchange::State::kStreaming) continue;
    auto callback = std::move(exchange->on_stream_close);
    finish_stream(*exchange);
    if (callback) {
      try {
        callback();
      } catch (const std::exception& e) {
        server_.log(std::string("http: stream close callback threw: ") + e.what());
      } catch (...) {
        server_.log("http: stream close callback threw");
      }
    }
    if (closing_) return;
  }
  if (queue_.empty()) {
    close_after_flush();
  } else {
    pump(false);
  }
}

void Connection::close_now() noexcept {
  if (closing_) return;
  closing_ = true;
  no_more_requests_ = true;
  if (!reject_) --server_.stats_.connections_open;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  uv_timer_stop(&timer_);
  std::deque<std::shared_ptr<Exchange>> detached;
  detached.swap(queue_);
  for (const auto& exchange : detached) {
    exchange->connection = nullptr;
    if (exchange->state == Exchange::State::kStreaming) --server_.stats_.streams_open;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_handle_closed);
  for (const auto& exchange : detached) {
    if (exchange->state != Exchange::State::kStreaming || !exchange->on_stream_close) continue;
    auto callback = std::move(exchange->on_stream_close);
    exchange->on_stream_close = nullptr;
    try {
      callback();
    } catch (const std::exception& e) {
      server_.log(std::string("http: stream close callback threw: ") + e.what());
    } catch (...) {
      server_.log("http: stream close callback threw");
    }
  }
}

void Connection::on_handle_closed(uv_handle_t* handle) noexcept {
  auto* c = static_cast<Connection*>(handle->data);
  if (++c->closed_handles_ == 2) c->server_.forget(c);  // deletes c
}

// ---------------------------------------------------------------- reading and timing

void Connection::update_reading() noexcept {
  if (closing_) return;
  // Reading stops while unparsed bytes wait for the pipeline to drain, and
  // while the client leaves more than max_unsent_bytes of answers unread
  // (TCP back-pressure either way: its requests wait in its own socket,
  // not in our memory); once no request may follow, input is read and
  // dropped so that a client that hangs up is noticed.
  const bool output_full = unsent_total() > server_.config_.max_unsent_bytes;
  const bool want = no_more_requests_ || (backlog_.empty() && !output_full);
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (want && !reading_) {
    if (uv_read_start(stream, &Connection::on_alloc, &Connection::on_read) == 0) reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(stream);
    reading_ = false;
  }
}

void Connection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) noexcept {
  auto* c = static_cast<Connection*>(handle->data);
  *buf = uv_buf_init(c->read_buffer_.get(), kReadBufferBytes);
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* c = static_cast<Connection*>(stream->data);
  if (c->closing_) return;
  if (nread < 0) {
    // EOF or reset: the client has gone (it cannot read what it would be
    // owed, as the Python service also assumed), so pending answers are
    // dropped and their Responders become no-ops.
    c->close_now();
    return;
  }
  if (nread == 0) return;
  c->last_activity_ = c->now();
  if (c->no_more_requests_) {
    c->arm_timer();
    return;
  }
  try {
    c->backlog_.append(buf->base, static_cast<std::size_t>(nread));
    // Handlers that answer at once (pipelined GETs) share one write.
    const Server::Corked corked(c->server_);
    c->parse_backlog();
    c->arm_timer();
  } catch (const std::exception& e) {
    c->server_.log(std::string("http: connection failed: ") + e.what());
    c->close_now();
  } catch (...) {
    c->close_now();
  }
}

void Connection::arm_timer() noexcept {
  if (closing_ || write_failed_ || resume_pending_) return;
  std::uint64_t deadline = 0;
  bool due = true;
  const ServerConfig& config = server_.config_;
  if (lingering_) {
    deadline = linger_started_ + static_cast<std::uint64_t>(config.linger_timeout.count());
  } else if (in_headers_) {
    deadline = message_started_ + static_cast<std::uint64_t>(config.header_timeout.count());
  } else if (queue_.empty()) {
    // Waiting for the client: for its next request, the rest of a body, or
    // to take our last answer.
    deadline = last_activity_ + static_cast<std::uint64_t>(config.idle_timeout.count());
  } else {
    // Waiting for a handler: its business, not a client's fault.
    due = false;
  }
  if (in_message_ && !lingering_) {
    // A request being received has a deadline of its own, whatever else waits.
    const std::uint64_t whole = message_started_ + static_cast<std::uint64_t>(config.request_timeout.count());
    deadline = due ? std::min(deadline, whole) : whole;
    due = true;
  }
  if (!due) {
    uv_timer_stop(&timer_);
    return;
  }
  const std::uint64_t t = now();
  uv_timer_start(&timer_, &Connection::on_timer, deadline > t ? deadline - t : 0, 0);
}

void Connection::on_timer(uv_timer_t* timer) noexcept {
  auto* c = static_cast<Connection*>(timer->data);
  if (c->closing_) return;
  try {
    if (c->resume_pending_ && !c->write_failed_) {
      c->resume_pending_ = false;
      c->parse_backlog();
      c->arm_timer();
      return;
    }
    c->timed_out();
  } catch (...) {
    c->close_now();
  }
}

void Connection::timed_out() {
  if (write_failed_ || lingering_) {
    close_now();
    return;
  }
  const ServerConfig& config = server_.config_;
  const std::uint64_t t = now();
  const bool request_expired =
      in_message_ && t >= message_started_ + static_cast<std::uint64_t>(config.request_timeout.count());
  if (request_expired) {
    // Falls through to 408.
  } else if (in_headers_) {
    if (t < message_started_ + static_cast<std::uint64_t>(config.header_timeout.count())) return arm_timer();
  } else if (!queue_.empty()) {
    return arm_timer();
  } else if (t < last_activity_ + static_cast<std::uint64_t>(config.idle_timeout.count())) {
    return arm_timer();
  }
  ++server_.stats_.timeouts;
  if (in_message_ && !flush_then_close_) {
    fail(408, "Request Timeout");
    return;
  }
  close_now();
}

}  // namespace tradpal::http::detail
