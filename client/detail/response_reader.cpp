#include "client/detail/response_reader.h"

#include <strings.h>

namespace tradpal::client::detail {

namespace {

// Bounds that keep a broken or hostile server from growing us without end.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 256 * 1024 * 1024;

ResponseReader& self(http_parser* p) { return *static_cast<ResponseReader*>(p->data); }

}  // namespace

ResponseReader::ResponseReader(OnResponse on_response, OnHead on_head, BodySink body_sink)
    : on_response_(std::move(on_response)), on_head_(std::move(on_head)), body_sink_(std::move(body_sink)) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &ResponseReader::on_message_begin;
  settings_.on_header_field = &ResponseReader::on_header_field;
  settings_.on_header_value = &ResponseReader::on_header_value;
  settings_.on_headers_complete = &ResponseReader::on_headers_complete;
  settings_.on_body = &ResponseReader::on_body;
  settings_.on_message_complete = &ResponseReader::on_message_complete;
}

bool ResponseReader::feed(const char* data, std::size_t size) {
  if (!error_.empty()) return false;
  const std::size_t used = http_parser_execute(&parser_, &settings_, data, size);
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK || used != size) {
    if (error_.empty()) {
      error_ = std::string("malformed HTTP response: ") + http_errno_description(HTTP_PARSER_ERRNO(&parser_));
    }
    return false;
  }
  return true;
}

bool ResponseReader::finish() {
  if (!in_message_) return true;
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  if (in_message_) {
    error_ = "the connection closed in the middle of a response";
    return false;
  }
  return true;
}

int ResponseReader::on_message_begin(http_parser* p) {
  ResponseReader& r = self(p);
  r.current_ = HttpResponse{};
  r.field_.clear();
  r.value_.clear();
  r.in_value_ = false;
  r.in_message_ = true;
  return 0;
}

void ResponseReader::end_header() {
  if (field_.empty()) return;
  if (strcasecmp(field_.c_str(), "content-type") == 0) current_.content_type = value_;
  if (strcasecmp(field_.c_str(), "retry-after") == 0) current_.retry_after = value_;
  field_.clear();
  value_.clear();
}

int ResponseReader::on_header_field(http_parser* p, const char* at, std::size_t len) {
  ResponseReader& r = self(p);
  if (r.in_value_) {
    r.end_header();
    r.in_value_ = false;
  }
  if (r.field_.size() + len > kMaxHeaderBytes) return 1;
  r.field_.append(at, len);
  return 0;
}

int ResponseReader::on_header_value(http_parser* p, const char* at, std::size_t len) {
  ResponseReader& r = self(p);
  r.in_value_ = true;
  if (r.value_.size() + len > kMaxHeaderBytes) return 1;
  r.value_.append(at, len);
  return 0;
}

int ResponseReader::on_headers_complete(http_parser* p) {
  ResponseReader& r = self(p);
  r.end_header();
  r.in_value_ = false;
  r.current_.status = static_cast<int>(p->status_code);
  r.current_.keep_alive = http_should_keep_alive(p) != 0;
  if (r.on_head_) r.on_head_(r.current_);
  return 0;
}

int ResponseReader::on_body(http_parser* p, const char* at, std::size_t len) {
  ResponseReader& r = self(p);
  if (r.body_sink_) {
    r.body_sink_(std::string_view(at, len));
    return 0;
  }
  if (r.current_.body.size() + len > kMaxBodyBytes) {
    r.error_ = "the response body is larger than 256 MiB";
    return 1;
  }
  r.current_.body.append(at, len);
  return 0;
}

int ResponseReader::on_message_complete(http_parser* p) {
  ResponseReader& r = self(p);
  r.in_message_ = false;
  // keep_alive is known for sure only now (a close-delimited body).
  r.current_.keep_alive = r.current_.keep_alive && http_should_keep_alive(p) != 0;
  if (r.on_response_) r.on_response_(std::move(r.current_));
  return 0;
}

}  // namespace tradpal::client::detail
