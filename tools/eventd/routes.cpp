#include "tools/eventd/routes.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/response.h"
#include "adapters/redis/stream_id.h"
#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/timestamp.h"
#include "tools/eventd/body_validation.h"
#include "tools/eventd/service.h"

namespace tradpal::eventd {
namespace {

using http::Request;
using http::Responder;

constexpr std::size_t kMaxLimit = 1000;

std::string invalid_type_detail(std::string_view name) {
  return "Invalid event type: '" + std::string(name) + "' is not a valid EventType";
}

std::string query_loc(std::string_view key) { return "[\"query\"," + http::json_quote(key) + "]"; }

// Query parameters shared by GET /events, POST /events/replay and the stream.
struct EventQuery {
  EventTypeSet types;
  std::optional<TimestampNs> start_time;
  std::optional<TimestampNs> end_time;
  std::size_t limit = 100;
};

// Validates like FastAPI: every 422 problem first; an unknown event type is
// the handler's 400 and comes only after validation passed. Returns false
// when it has answered.
bool parse_event_query(const Request& req, bool with_limit, EventQuery& q, Responder& r) {
  std::vector<FieldError> errors;
  if (with_limit) {
    if (const auto text = req.query("limit")) {
      long long v = 0;
      std::string_view t = *text;
      if (!t.empty() && t.front() == '+') t.remove_prefix(1);
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
        errors.push_back({query_loc("limit"), "value is not a valid integer", "type_error.integer", {}});
      } else if (v > static_cast<long long>(kMaxLimit)) {
        errors.push_back({query_loc("limit"), "ensure this value is less than or equal to 1000",
                          "value_error.number.not_le", "{\"limit_value\":1000}"});
      } else if (v < 0) {
        errors.push_back({query_loc("limit"), "ensure this value is greater than or equal to 0",
                          "value_error.number.not_ge", "{\"limit_value\":0}"});
      } else {
        q.limit = static_cast<std::size_t>(v);
      }
    }
  }
  for (const char* key : {"start_time", "end_time"}) {
    if (const auto text = req.query(key)) {
      const auto t = parse_iso_timestamp(*text);
      if (!t) {
        errors.push_back({query_loc(key), "invalid datetime format", "value_error.datetime", {}});
      } else {
        (std::string_view(key) == "start_time" ? q.start_time : q.end_time) = *t;
      }
    }
  }
  if (!errors.empty()) {
    r.send_json(422, validation_detail(errors));
    return false;
  }
  for (std::string_view name : req.query_all("event_type")) {
    const auto type = parse_event_type(name);
    if (!type) {
      r.send_error(400, invalid_type_detail(name));
      return false;
    }
    q.types.add(*type);
  }
  return true;
}

// `{"symbol": "X", ...rest}` from a market_data object, as Python's
// {"symbol": symbol, **market_data}: the symbol first; a "symbol" key inside
// market_data comes later and wins when read back, as it does in Python.
std::string market_data_json(std::string_view symbol, std::string_view market_data) {
  std::string out = "{\"symbol\": ";
  append_quoted(out, symbol);
  const std::string_view inner = trim_json(market_data.substr(1, market_data.size() - 2));
  if (!inner.empty()) {
    out += ", ";
    out += inner;
  }
  out += '}';
  return out;
}

std::string raw_entry_json(const std::optional<redis::RawEntry>& e) {
  if (!e) return "null";
  std::string out = "[" + http::json_quote(e->id) + ",{";
  for (std::size_t i = 0; i < e->fields.size(); ++i) {
    if (i != 0) out += ',';
    out += http::json_quote(e->fields[i].first) + ":" + http::json_quote(e->fields[i].second);
  }
  return out + "}]";
}

std::string redis_error_detail(const std::string& error) { return "Redis unavailable: " + error; }

}  // namespace

http::Router Routes::build(Service& s) {
  http::Router router;

  // Wraps a POST handler with the bearer-token check.
  auto guarded = [&s](http::Handler inner) -> http::Handler {
    return [&s, inner = std::move(inner)](Request req, Responder r) {
      if (!s.config_.token.empty()) {
        const std::string expected = "Bearer " + s.config_.token;
        const std::string_view got = req.header("Authorization").value_or("");
        // Compare every byte whatever the first difference, so the time
        // taken does not tell an attacker how much of a guess was right.
        unsigned diff = got.size() == expected.size() ? 0u : 1u;
        for (std::size_t i = 0; i < expected.size(); ++i) {
          diff |= static_cast<unsigned>(static_cast<unsigned char>(expected[i]) ^
                                        static_cast<unsigned char>(i < got.size() ? got[i] : 0));
        }
        if (diff != 0) {
          r.send(http::Response::error(401, "Not authenticated").set_header("WWW-Authenticate", "Bearer"));
          return;
        }
      }
      inner(std::move(req), std::move(r));
    };
  };

  router.get("/health", [&s](Request, Responder r) {
    const bool unhealthy = s.monitor_->status() == HealthStatus::unhealthy;
    r.send_json(unhealthy ? 503 : 200, s.monitor_->health_json(s.hub_->clients(), s.publisher_->pending()));
  });

  router.get("/events/types", [](Request, Responder r) {
    std::string out = "{\"event_types\":[";
    for (std::size_t i = 0; i < kEventTypeCount; ++i) {
      if (i != 0) out += ',';
      out += '"';
      out += kEventTypeNames[i];
      out += '"';
    }
    r.send_json(200, out + "]}");
  });

  router.post("/events", guarded([&s](Request req, Responder r) {
    std::vector<FieldError> errors;
    JsonBody body;
    if (!body.parse(req.body, errors)) return r.send_json(422, validation_detail(errors));
    const auto type_name = body.string_field("event_type", std::nullopt, errors);
    const auto source = body.string_field("source", "api", errors);
    const auto data = body.object_field("data", "{}", errors);
    const auto metadata = body.object_field("metadata", "{}", errors);
    if (!errors.empty()) return r.send_json(422, validation_detail(errors));
    const auto type = parse_event_type(*type_name);
    if (!type) return r.send_error(400, invalid_type_detail(*type_name));
    s.publisher_->publish({.type = *type, .source = *source, .data = *data, .metadata = *metadata},
                          Publisher::Shape::with_event_id, std::move(r));
  }));

  router.post("/events/market-data", guarded([&s](Request req, Responder r) {
    std::vector<FieldError> errors;
    JsonBody body;
    if (!body.parse(req.body, errors)) return r.send_json(422, validation_detail(errors));
    const auto symbol = body.string_field("symbol", std::nullopt, errors);
    const auto market_data = body.object_field("market_data", std::nullopt, errors);
    const auto source = body.string_field("source", "api", errors);
    if (!errors.empty()) return r.send_json(422, validation_detail(errors));
    const std::string data = market_data_json(*symbol, *market_data);
    s.publisher_->publish({.type = EventType::market_data_update, .source = *source, .data = data},
                          Publisher::Shape::message_id_only, std::move(r));
  }));

  // The two endpoints whose data is one object field of the body.
  auto single_object = [&s, &guarded](EventType type, const char* field) {
    return guarded([&s, type, field](Request req, Responder r) {
      std::vector<FieldError> errors;
      JsonBody body;
      if (!body.parse(req.body, errors)) return r.send_json(422, validation_detail(errors));
      const auto data = body.object_field(field, std::nullopt, errors);
      const auto source = body.string_field("source", "api", errors);
      if (!errors.empty()) return r.send_json(422, validation_detail(errors));
      s.publisher_->publish({.type = type, .source = *source, .data = *data}, Publisher::Shape::message_id_only,
                            std::move(r));
    });
  };
  router.post("/events/trading-signal", single_object(EventType::trading_signal, "signal"));
  router.post("/events/portfolio-update", single_object(EventType::portfolio_update, "updates"));

  router.get("/events", [&s](Request req, Responder r) {
    EventQuery q;
    if (!parse_event_query(req, true, q, r)) return;
    s.readers_->run<std::string>(
        [q](Reader& reader) {
          const auto events = reader.store().get_events(q.types, q.start_time, q.end_time, q.limit);
          std::string out = "{\"events\":[";
          for (std::size_t i = 0; i < events.size(); ++i) {
            if (i != 0) out += ',';
            append_event_json(out, events[i].event);
          }
          out += "],\"count\":" + std::to_string(events.size()) + "}";
          return out;
        },
        [r = std::move(r)](Outcome<std::string> o) mutable {
          if (o.value) return r.send_json(200, std::move(*o.value));
          r.send_error(503, redis_error_detail(o.error));
        });
  });

  router.post("/events/replay", guarded([&s](Request req, Responder r) {
    EventQuery q;
    if (!parse_event_query(req, false, q, r)) return;
    Bus* bus = &s.bus_;
    s.readers_->run<std::uint64_t>(
        [q, bus](Reader& reader) { return reader.store().replay(q.types, q.start_time, q.end_time, *bus); },
        [&s, r = std::move(r)](Outcome<std::uint64_t> o) mutable {
          if (!o.value) return r.send_error(503, redis_error_detail(o.error));
          s.counters_.replayed += *o.value;
          s.hub_->pump();
          r.send_json(200, "{\"status\":\"replay_complete\",\"events_replayed\":" + std::to_string(*o.value) + "}");
        });
  }));

  router.get("/events/stats", [&s](Request, Responder r) {
    s.readers_->run<redis::StreamStats>([](Reader& reader) { return reader.store().stats(); },
                                        [&s, r = std::move(r)](Outcome<redis::StreamStats> o) mutable {
      if (!o.value) return r.send_error(503, redis_error_detail(o.error));
      const redis::StreamStats& st = *o.value;
      std::string out = "{\"stream_length\":" + std::to_string(st.length);
      out += ",\"first_entry\":" + raw_entry_json(st.first_entry);
      out += ",\"last_entry\":" + raw_entry_json(st.last_entry);
      out += ",\"consumer_groups\":" + std::to_string(st.groups.size());
      out += ",\"groups\":[";
      for (std::size_t i = 0; i < st.groups.size(); ++i) {
        const redis::GroupStats& g = st.groups[i];
        if (i != 0) out += ',';
        out += "{\"name\":" + http::json_quote(g.name) + ",\"consumers\":" + std::to_string(g.consumers) +
               ",\"pending\":" + std::to_string(g.pending) +
               ",\"last-delivered-id\":" + http::json_quote(g.last_delivered_id);
        out += ",\"lag\":" + (g.lag ? std::to_string(*g.lag) : std::string("null")) + "}";
      }
      out += "],\"persister_lag\":" + std::to_string(s.monitor_->persister_lag()) + "}";
      r.send_json(200, std::move(out));
    });
  });

  router.get("/metrics", [&s](Request, Responder r) {
    s.readers_->run<std::uint64_t>(
        [](Reader& reader) -> std::uint64_t {
          redis::ReplyPtr reply = reader.client().command({"XLEN", reader.stream()});
          if (reply->type != REDIS_REPLY_INTEGER) throw redis::RedisError("XLEN failed");
          return static_cast<std::uint64_t>(reply->integer);
        },
        [&s, r = std::move(r)](Outcome<std::uint64_t> o) mutable {
          const std::string text = s.metrics_.render({.counters = s.counters_,
                                                      .bus = s.bus_,
                                                      .redis = *s.monitor_,
                                                      .server = *s.server_,
                                                      .stream_clients = s.hub_->clients(),
                                                      .stream_length = o.value});
          r.send(http::Response::text(200, text, Metrics::kContentType));
        });
  });

  router.get("/events/stream", [&s](Request req, Responder r) {
    EventQuery q;
    if (!parse_event_query(req, false, q, r)) return;
    std::optional<redis::StreamId> resume;
    std::optional<std::string_view> from = req.header("Last-Event-ID");
    const char* from_key = "Last-Event-ID";
    if (!from || from->empty()) {
      from = req.query("from");
      from_key = "from";
    }
    if (from && !from->empty()) {
      resume = redis::StreamId::parse(*from);
      if (!resume) {
        const std::string loc = std::string_view(from_key) == "from" ? query_loc("from") : "[\"header\",\"last-event-id\"]";
        return r.send_json(422, validation_detail({{loc, "not a stream id (<ms>-<seq>)", "value_error.stream_id", {}}}));
      }
    }
    s.hub_->open(q.types, resume, std::move(r));
  });

  return router;
}

}  // namespace tradpal::eventd
