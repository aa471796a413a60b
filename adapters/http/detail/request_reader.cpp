#include "adapters/http/detail/request_reader.h"

#include <climits>
#include <utility>

namespace tradpal::http::detail {

namespace {

RequestReader* self(http_parser* p) noexcept { return static_cast<RequestReader*>(p->data); }

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

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The header fields that decide where a request ends, and Host, as RFC 9112
// wants them (the parser is lenient): null when acceptable, else why not.
const char* framing_fields_refused(const Request& request) noexcept {
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
      const std::string_view coding = trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
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

}  // namespace

const http_parser_settings RequestReader::kSettings = [] {
  http_parser_settings s{};
  s.on_message_begin = &RequestReader::on_message_begin;
  s.on_url = &RequestReader::on_url;
  s.on_header_field = &RequestReader::on_header_field;
  s.on_header_value = &RequestReader::on_header_value;
  s.on_headers_complete = &RequestReader::on_headers_complete;
  s.on_body = &RequestReader::on_body;
  s.on_message_complete = &RequestReader::on_message_complete;
  return s;
}();

RequestReader::RequestReader(const ServerConfig& config) : config_(config) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

void RequestReader::append(std::string_view bytes) {
  if (stopped_) return;
  if (taken_ == backlog_.size()) {
    backlog_.clear();
    taken_ = 0;
  } else if (taken_ > 0) {
    backlog_.erase(0, taken_);
    taken_ = 0;
  }
  backlog_.append(bytes);
}

void RequestReader::stop() noexcept {
  stopped_ = true;
  phase_ = Phase::kBetween;
  backlog_.clear();
  backlog_.shrink_to_fit();
  taken_ = 0;
}

RequestReader::Step RequestReader::refused(int status, std::string_view detail) noexcept {
  error_status_ = status;
  error_detail_ = detail;
  stop();
  return Step::kRefused;
}

RequestReader::Step RequestReader::read(std::uint64_t now) noexcept {
  now_ = now;
  while (!stopped_ && has_input()) {
    const std::string_view input = std::string_view(backlog_).substr(taken_);
    const FramingCheck::Verdict verdict = framing_.check(input);
    if (verdict.error != nullptr) return refused(400, verdict.error);
    if (verdict.accepted == 0) break;
    const std::size_t parsed = http_parser_execute(&parser_, &kSettings, input.data(), verdict.accepted);
    const auto err = HTTP_PARSER_ERRNO(&parser_);
    taken_ += parsed;
    if (taken_ == backlog_.size()) {
      backlog_.clear();
      taken_ = 0;
    }
    if (err == HPE_PAUSED) {
      // Paused by on_message_complete: one whole request.
      http_parser_pause(&parser_, 0);
      framing_.next_message();
      phase_ = Phase::kBetween;
      headers_done_ = false;
      return Step::kRequest;
    }
    if (err != HPE_OK) {
      if (error_status_ != 0) return refused(error_status_, error_detail_);
      if (err == HPE_HEADER_OVERFLOW) return refused(431, "Request Header Fields Too Large");
      return refused(400, "Bad Request");
    }
    if (framing_.awaiting_body()) {
      // The check saw the header section end here and the parser did not:
      // they read the request differently, so it is not answered.
      return refused(400, "Bad Request: malformed request");
    }
    if (headers_done_) {
      headers_done_ = false;
      return Step::kHeaders;
    }
  }
  return Step::kNeedInput;
}

// ---------------------------------------------------------------- parser callbacks

int RequestReader::refuse(int status, std::string_view detail) noexcept {
  error_status_ = status;
  error_detail_ = detail;
  return 1;
}

int RequestReader::on_message_begin(http_parser* p) noexcept {
  RequestReader* r = self(p);
  r->request_ = Request{};
  r->frame_ = RequestFrame{};
  r->header_bytes_ = 0;
  r->last_was_value_ = false;
  r->phase_ = Phase::kHeaders;
  r->began_at_ = r->now_;
  return 0;
}

int RequestReader::on_url(http_parser* p, const char* at, std::size_t len) noexcept {
  RequestReader* r = self(p);
  try {
    r->header_bytes_ += len;
    if (r->header_bytes_ > r->config_.max_header_bytes) return r->refuse(414, "URI Too Long");
    r->request_.target.append(at, len);
    return 0;
  } catch (...) {
    return r->refuse(500, "Internal Server Error");
  }
}

int RequestReader::on_header_field(http_parser* p, const char* at, std::size_t len) noexcept {
  RequestReader* r = self(p);
  try {
    r->header_bytes_ += len + 4;  // ": " and CRLF belong to the budget too
    const bool too_large = r->header_bytes_ > r->config_.max_header_bytes;
    if (r->phase_ != Phase::kHeaders) {
      // A chunked body's trailer section: counted against the header budget,
      // never merged into the headers (a credential or a framing field there
      // must not count as if the client had sent it up front).
      return too_large ? r->refuse(431, "Request Header Fields Too Large") : 0;
    }
    // Field names and values may each arrive in pieces across reads.
    if (r->last_was_value_ || r->request_.headers.empty()) {
      r->request_.headers.emplace_back();
      r->last_was_value_ = false;
    }
    if (too_large || r->request_.headers.size() > r->config_.max_header_count) {
      return r->refuse(431, "Request Header Fields Too Large");
    }
    r->request_.headers.back().first.append(at, len);
    return 0;
  } catch (...) {
    return r->refuse(500, "Internal Server Error");
  }
}

int RequestReader::on_header_value(http_parser* p, const char* at, std::size_t len) noexcept {
  RequestReader* r = self(p);
  try {
    r->header_bytes_ += len;
    if (r->header_bytes_ > r->config_.max_header_bytes) return r->refuse(431, "Request Header Fields Too Large");
    if (r->phase_ != Phase::kHeaders) return 0;  // a trailer value: budget only (see on_header_field)
    if (r->request_.headers.empty()) r->request_.headers.emplace_back();
    r->last_was_value_ = true;
    r->request_.headers.back().second.append(at, len);
    return 0;
  } catch (...) {
    return r->refuse(500, "Internal Server Error");
  }
}

int RequestReader::on_headers_complete(http_parser* p) noexcept {
  RequestReader* r = self(p);
  try {
    return r->headers_complete();
  } catch (...) {
    r->refuse(500, "Internal Server Error");
    return -1;
  }
}

int RequestReader::headers_complete() {
  phase_ = Phase::kBody;
  headers_done_ = true;
  if (parser_.http_major != 1) {
    refuse(400, "Unsupported HTTP version");
    return -1;
  }
  request_.method = http_method_str(static_cast<enum http_method>(parser_.method));
  request_.http_major = parser_.http_major;
  request_.http_minor = parser_.http_minor;
  split_target(request_);
  if (const char* why = framing_fields_refused(request_)) {
    refuse(std::string_view(why).starts_with("Not Implemented") ? 501 : 400, why);
    return -1;
  }
  const bool chunked = (parser_.flags & F_CHUNKED) != 0;
  const bool has_length = parser_.content_length != ULLONG_MAX;
  if (chunked && !config_.accept_chunked_bodies) {
    refuse(411, "Chunked request bodies are not accepted; send Content-Length");
    return -1;
  }
  if (!chunked && has_length && parser_.content_length > config_.max_body_bytes) {
    refuse(413, "Request body too large");
    return -1;
  }
  if (chunked) {
    framing_.body(FramingCheck::Body::chunked);
  } else if (has_length) {
    framing_.body(FramingCheck::Body::length, parser_.content_length);
  } else {
    framing_.body(FramingCheck::Body::none);
  }
  return 0;
}

int RequestReader::on_body(http_parser* p, const char* at, std::size_t len) noexcept {
  RequestReader* r = self(p);
  try {
    if (r->request_.body.size() + len > r->config_.max_body_bytes) return r->refuse(413, "Request body too large");
    r->request_.body.append(at, len);
    return 0;
  } catch (...) {
    return r->refuse(500, "Internal Server Error");
  }
}

int RequestReader::on_message_complete(http_parser* p) noexcept {
  RequestReader* r = self(p);
  r->frame_.method = http_method_str(static_cast<enum http_method>(p->method));
  r->frame_.head_only = p->method == HTTP_HEAD;
  r->frame_.http10 = p->http_minor == 0;
  r->frame_.keep_alive = http_should_keep_alive(p) != 0 && !p->upgrade;
  // Stop here: the caller takes this request before the next is looked at.
  http_parser_pause(p, 1);
  return 0;
}

}  // namespace tradpal::http::detail
