#include "client/event_client.h"

#include <simdjson.h>

#include "client/detail/answers.h"
#include "client/detail/http_pool.h"
#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/stream_id.h"

namespace tradpal::client {

namespace {

using detail::HttpCall;
using detail::HttpResponse;

ClientError bad_answer(std::string_view what, std::string_view why) {
  return ClientError(ErrorKind::protocol, std::string(what) + " answered " + std::string(why), 0, {}, true);
}

// Parses a 2xx JSON answer's root object; throws protocol otherwise.
struct Answer {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object root;

  Answer(const HttpResponse& r, std::string_view what) : padded(r.body) {
    if (parser.iterate(padded).get(doc) || doc.get_object().get(root)) {
      throw bad_answer(what, "something that is not a JSON object");
    }
  }
  std::string string(std::string_view key, std::string_view what, bool required = true) {
    std::string_view v;
    if (root.find_field_unordered(key).get_string().get(v)) {
      if (required) throw bad_answer(what, "no string \"" + std::string(key) + "\"");
      return {};
    }
    return std::string(v);
  }
  std::uint64_t number(std::string_view key, std::string_view what) {
    std::uint64_t v = 0;
    if (root.find_field_unordered(key).get_uint64().get(v)) {
      throw bad_answer(what, "no number \"" + std::string(key) + "\"");
    }
    return v;
  }
};

void require_object(std::string_view text, std::string_view name) {
  if (!is_json_object(text)) {
    throw ClientError(ErrorKind::usage, std::string(name) + " must be a JSON object, not: " + std::string(text));
  }
}

std::string query_string(const EventQuery& q, bool with_limit) {
  std::string s;
  auto add = [&s](std::string_view key, std::string_view value) {
    s += s.empty() ? '?' : '&';
    s += key;
    s += '=';
    s += detail::url_encode(value);
  };
  for (const EventType t : q.types) add("event_type", to_string(t));
  if (with_limit && q.limit) add("limit", std::to_string(*q.limit));
  if (!q.start_time.empty()) add("start_time", q.start_time);
  if (!q.end_time.empty()) add("end_time", q.end_time);
  return s;
}

// Sends `call`; the answer, when 2xx (or accepted by `ok`), goes through
// `parse` on the I/O thread into the future's value.
template <typename T, typename Parse>
std::future<T> start(detail::HttpPool& pool, HttpCall call, Parse parse, bool (*ok)(int) = nullptr) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  const std::string what = call.method + " " + call.target.substr(0, call.target.find('?'));
  call.done = [promise, what, parse = std::move(parse), ok](HttpResponse* r, const ClientError* e) {
    try {
      if (e != nullptr) throw *e;
      const bool accepted = ok != nullptr ? ok(r->status) : (r->status >= 200 && r->status < 300);
      if (!accepted) throw detail::answer_error(*r, what);
      promise->set_value(parse(*r, what));
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  };
  pool.submit(std::move(call));
  return future;
}

PublishReceipt receipt(const HttpResponse& r, std::string_view what) {
  Answer a(r, what);
  PublishReceipt out;
  out.message_id = a.string("message_id", what);
  out.event_id = a.string("event_id", what, false);
  return out;
}

}  // namespace

EventClient::EventClient(ClientOptions options) : options_(std::move(options)) {
  url_ = ServiceUrl::resolve(options_.url, options_.token);
  if (options_.max_connections == 0 || options_.max_pipeline == 0) {
    throw ClientError(ErrorKind::usage, "max_connections and max_pipeline must be at least 1");
  }
  detail::PoolOptions pool;
  pool.connect_timeout = options_.connect_timeout;
  pool.max_connections = options_.max_connections;
  pool.max_pipeline = options_.max_pipeline;
  if (!options_.token.empty()) pool.authorization = "Bearer " + options_.token;
  pool_ = std::make_unique<detail::HttpPool>(url_, std::move(pool));
}

EventClient::~EventClient() = default;

std::future<PublishReceipt> EventClient::publish_event_async(EventType type, std::string_view data_json,
                                                             std::string_view source, std::string_view metadata_json) {
  require_object(data_json, "data");
  require_object(metadata_json, "metadata");
  std::string body = "{\"event_type\": ";
  append_quoted(body, to_string(type));
  if (!source.empty()) {
    body += ", \"source\": ";
    append_quoted(body, source);
  }
  body += ", \"data\": ";
  body += data_json;
  body += ", \"metadata\": ";
  body += metadata_json;
  body += '}';
  return start<PublishReceipt>(
      *pool_, {.method = "POST", .target = "/events", .body = std::move(body), .idempotent = false,
               .timeout = options_.request_timeout},
      receipt);
}

namespace {

std::string convenience_body(std::string_view key, std::string_view json, std::string_view source) {
  std::string body = "{";
  append_quoted(body, key);
  body += ": ";
  body += json;
  if (!source.empty()) {
    body += ", \"source\": ";
    append_quoted(body, source);
  }
  body += '}';
  return body;
}

}  // namespace

std::future<PublishReceipt> EventClient::publish_market_data_async(std::string_view symbol,
                                                                   std::string_view market_data_json,
                                                                   std::string_view source) {
  require_object(market_data_json, "market_data");
  std::string body = "{\"symbol\": ";
  append_quoted(body, symbol);
  body += ", ";
  body += convenience_body("market_data", market_data_json, source).substr(1);
  return start<PublishReceipt>(*pool_,
                               {.method = "POST", .target = "/events/market-data", .body = std::move(body),
                                .idempotent = false, .timeout = options_.request_timeout},
                               receipt);
}

std::future<PublishReceipt> EventClient::publish_trading_signal_async(std::string_view signal_json,
                                                                      std::string_view source) {
  require_object(signal_json, "signal");
  return start<PublishReceipt>(*pool_,
                               {.method = "POST", .target = "/events/trading-signal",
                                .body = convenience_body("signal", signal_json, source), .idempotent = false,
                                .timeout = options_.request_timeout},
                               receipt);
}

std::future<PublishReceipt> EventClient::publish_portfolio_update_async(std::string_view updates_json,
                                                                        std::string_view source) {
  require_object(updates_json, "updates");
  return start<PublishReceipt>(*pool_,
                               {.method = "POST", .target = "/events/portfolio-update",
                                .body = convenience_body("updates", updates_json, source), .idempotent = false,
                                .timeout = options_.request_timeout},
                               receipt);
}

std::vector<Event> EventClient::get_events(const EventQuery& query) {
  auto parse = [](const HttpResponse& r, std::string_view what) {
    Answer a(r, what);
    // Each event's raw text first (the decoder parses with its own parser),
    // then the message ids the service lists beside them.
    std::vector<std::string> texts;
    simdjson::ondemand::array events;
    if (a.root.find_field_unordered("events").get_array().get(events)) throw bad_answer(what, "no \"events\" array");
    for (auto item : events) {
      simdjson::ondemand::object o;
      std::string_view raw;
      if (item.get_object().get(o) || o.raw_json().get(raw)) throw bad_answer(what, "an event that is not an object");
      texts.emplace_back(raw);
    }
    std::vector<std::string> ids;
    simdjson::ondemand::array id_array;
    if (!a.root.find_field_unordered("message_ids").get_array().get(id_array)) {
      for (auto item : id_array) {
        std::string_view id;
        if (item.get_string().get(id)) throw bad_answer(what, "a message id that is not a string");
        ids.emplace_back(id);
      }
    }
    std::vector<Event> out;
    out.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      DecodeError err = DecodeError::none;
      auto e = decode_event_json(texts[i], &err);
      if (!e) throw bad_answer(what, "an event it cannot decode (" + std::string(to_string(err)) + ")");
      if (i < ids.size()) e->stream_id = StreamId::parse(ids[i]);
      out.push_back(std::move(*e));
    }
    return out;
  };
  return start<std::vector<Event>>(*pool_,
                                   {.method = "GET", .target = "/events" + query_string(query, true),
                                    .timeout = options_.request_timeout},
                                   parse)
      .get();
}

std::uint64_t EventClient::replay_events(const EventQuery& query) {
  // A replay puts events on the service's bus again: not idempotent.
  return start<std::uint64_t>(*pool_,
                              {.method = "POST", .target = "/events/replay" + query_string(query, false),
                               .idempotent = false, .timeout = options_.request_timeout},
                              [](const HttpResponse& r, std::string_view what) {
                                return Answer(r, what).number("events_replayed", what);
                              })
      .get();
}

EventStats EventClient::get_event_stats() {
  return start<EventStats>(*pool_, {.method = "GET", .target = "/events/stats", .timeout = options_.request_timeout},
                           [](const HttpResponse& r, std::string_view what) {
                             EventStats s;
                             Answer a(r, what);
                             s.stream_length = a.number("stream_length", what);
                             std::uint64_t groups = 0;
                             if (!a.root.find_field_unordered("consumer_groups").get_uint64().get(groups)) {
                               s.consumer_groups = groups;
                             }
                             s.json = r.body;
                             return s;
                           })
      .get();
}

HealthReport EventClient::health_check() {
  return start<HealthReport>(
             *pool_, {.method = "GET", .target = "/health", .timeout = options_.request_timeout},
             [](const HttpResponse& r, std::string_view what) {
               HealthReport h;
               Answer a(r, what);
               h.status = a.string("status", what);
               h.healthy = r.status == 200 && h.status == "healthy";
               h.json = r.body;
               return h;
             },
             [](int status) { return status == 200 || status == 503; })
      .get();
}

std::vector<std::string> EventClient::event_types() {
  return start<std::vector<std::string>>(
             *pool_, {.method = "GET", .target = "/events/types", .timeout = options_.request_timeout},
             [](const HttpResponse& r, std::string_view what) {
               Answer a(r, what);
               std::vector<std::string> out;
               simdjson::ondemand::array types;
               if (a.root.find_field_unordered("event_types").get_array().get(types)) {
                 throw bad_answer(what, "no \"event_types\" array");
               }
               for (auto t : types) {
                 std::string_view s;
                 if (t.get_string().get(s)) throw bad_answer(what, "an event type that is not a string");
                 out.emplace_back(s);
               }
               return out;
             })
      .get();
}

std::string EventClient::metrics() {
  return start<std::string>(*pool_, {.method = "GET", .target = "/metrics", .timeout = options_.request_timeout},
                            [](const HttpResponse& r, std::string_view) { return r.body; })
      .get();
}

}  // namespace tradpal::client
