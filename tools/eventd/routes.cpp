#include "tools/eventd/routes.h"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/json_writer.h"
#include "adapters/http/response.h"
#include "adapters/redis/stream_id.h"
#include "engine/event_json.h"
#include "engine/json.h"
#include "engine/timestamp.h"
#include "tools/eventd/body_validation.h"

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

void write_raw_entry(http::JsonWriter& w, const std::optional<redis::RawEntry>& e) {
  if (!e) {
    w.null();
    return;
  }
  w.begin_array().string(e->id).begin_object();
  for (const auto& [field, value] : e->fields) w.key(field).string(value);
  w.end_object().end_array();
}

std::string redis_error_detail(const std::string& error) { return "Redis unavailable: " + error; }

}  // namespace

http::Router Routes::build(const RouteDeps& d) {
  http::Router router;

  // Wraps a POST handler with the bearer-token check.
  auto guarded = [d](http::Handler inner) -> http::Handler {
    return [d, inner = std::move(inner)](Request req, Responder r) {
      if (!d.config.token.empty()) {
        // RFC 9110: the scheme is case-insensitive and one or more spaces
        // separate it from the token.
        const std::string& expected = d.config.token;
        std::string_view got = req.header("Authorization").value_or("");
        constexpr std::string_view kScheme = "bearer";
        bool scheme_ok = got.size() > kScheme.size() && (got[kScheme.size()] == ' ');
        for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i) {
          scheme_ok = (got[i] | 0x20) == kScheme[i];
        }
        got = scheme_ok ? got.substr(kScheme.size()) : std::string_view();
        while (!got.empty() && got.front() == ' ') got.remove_prefix(1);
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

  router.get("/health", [d](Request, Responder r) {
    if (!d.config.redis_url.cluster) {
      d.monitor.refresh();
      const bool unhealthy = d.monitor.status() == HealthStatus::unhealthy;
      r.send_json(unhealthy ? 503 : 200, d.monitor.health_json(d.hub.clients(), d.publishes.pending(), d.tail));
      return;
    }
    // On a cluster, every node as the cluster sees it, read off the loop.
    d.readers.run<std::vector<redis::ClusterNode>>(
        [](Reader& reader) { return reader.store().cluster_nodes(); },
        [d, r = std::move(r)](Outcome<std::vector<redis::ClusterNode>> o) mutable {
          d.monitor.refresh();
          RedisMonitor::ClusterView view;
          if (o.value) {
            view.nodes = std::move(*o.value);
          } else {
            view.error = o.error;
          }
          const bool unhealthy = d.monitor.status() == HealthStatus::unhealthy;
          r.send_json(unhealthy ? 503 : 200,
                      d.monitor.health_json(d.hub.clients(), d.publishes.pending(), d.tail, &view));
        });
  });

  router.get("/events/types", [](Request, Responder r) {
    http::JsonWriter w;
    w.begin_object().key("event_types").begin_array();
    for (const std::string_view name : kEventTypeNames) w.string(name);
    w.end_array().end_object();
    r.send_json(200, std::move(w).take());
  });

  router.post("/events", guarded([d](Request req, Responder r) {
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
    if (d.schemas != nullptr) {
      if (auto bad = d.schemas->check(*type, *data, {.prefix = "\"body\",\"data\""})) {
        return r.send_json(422, validation_detail({std::move(*bad)}));
      }
    }
    d.publishes.publish({.type = *type, .source = *source, .data = *data, .metadata = *metadata},
                        PendingPublishes::Shape::with_event_id, std::move(r));
  }));

  router.post("/events/market-data", guarded([d](Request req, Responder r) {
    std::vector<FieldError> errors;
    JsonBody body;
    if (!body.parse(req.body, errors)) return r.send_json(422, validation_detail(errors));
    const auto symbol = body.string_field("symbol", std::nullopt, errors);
    const auto market_data = body.object_field("market_data", std::nullopt, errors);
    const auto source = body.string_field("source", "api", errors);
    if (!errors.empty()) return r.send_json(422, validation_detail(errors));
    if (d.schemas != nullptr) {
      // The event's data is {"symbol": symbol, **market_data}.
      http::JsonWriter sym;
      sym.string(*symbol);
      const std::string_view rest = trim_json(*market_data).substr(1);
      std::string merged = "{\"symbol\":" + sym.str() + (trim_json(rest) == "}" ? "" : ",") + std::string(rest);
      if (auto bad = d.schemas->check(EventType::market_data_update, merged,
                                      {.prefix = "\"body\",\"market_data\"",
                                       .top_level_key = "symbol",
                                       .top_level_prefix = "\"body\""})) {
        // A missing or bad symbol is the body's own field: loc ["body","symbol"].
        return r.send_json(422, validation_detail({std::move(*bad)}));
      }
    }
    d.publishes.publish_market_data(*symbol, *market_data, *source, std::move(r));
  }));

  // The two endpoints whose data is one object field of the body.
  auto single_object = [d, &guarded](EventType type, const char* field) {
    return guarded([d, type, field](Request req, Responder r) {
      std::vector<FieldError> errors;
      JsonBody body;
      if (!body.parse(req.body, errors)) return r.send_json(422, validation_detail(errors));
      const auto data = body.object_field(field, std::nullopt, errors);
      const auto source = body.string_field("source", "api", errors);
      if (!errors.empty()) return r.send_json(422, validation_detail(errors));
      if (d.schemas != nullptr) {
        const std::string prefix = "\"body\",\"" + std::string(field) + "\"";
        if (auto bad = d.schemas->check(type, *data, {.prefix = prefix})) {
          return r.send_json(422, validation_detail({std::move(*bad)}));
        }
      }
      d.publishes.publish({.type = type, .source = *source, .data = *data}, PendingPublishes::Shape::message_id_only,
                          std::move(r));
    });
  };
  router.post("/events/trading-signal", single_object(EventType::trading_signal, "signal"));
  router.post("/events/portfolio-update", single_object(EventType::portfolio_update, "updates"));

  router.get("/events", [d](Request req, Responder r) {
    EventQuery q;
    if (!parse_event_query(req, true, q, r)) return;
    d.readers.run<http::Response>(
        [q](Reader& reader) {
          bool truncated = false;
          const auto events = reader.store().get_events(q.types, q.start_time, q.end_time, q.limit, &truncated);
          http::JsonWriter w;
          std::string event;
          w.begin_object().key("events").begin_array();
          for (const auto& e : events) {
            event.clear();
            append_event_json(event, e.event);
            w.raw(event);
          }
          w.end_array().key("count").number(static_cast<std::uint64_t>(events.size()));
          // Beside the recorded shape: each event's message id, in the same
          // order (the id a stream client resumes after). An extra key, so
          // clients that know only the recorded shape are unaffected.
          w.key("message_ids").begin_array();
          for (const auto& e : events) w.string(e.id);
          w.end_array().end_object();
          http::Response response = http::Response::json(200, std::move(w).take());
          // The body keeps the recorded shape; the header says the read
          // stopped at its bound (fewer than `limit` may have matched).
          if (truncated) response.headers.emplace_back("X-Events-Scan-Truncated", "true");
          return response;
        },
        [r = std::move(r)](Outcome<http::Response> o) mutable {
          if (o.value) return r.send(std::move(*o.value));
          r.send_error(503, redis_error_detail(o.error));
        });
  });

  router.post("/events/replay", guarded([d](Request req, Responder r) {
    EventQuery q;
    if (!parse_event_query(req, false, q, r)) return;
    Bus* bus = &d.replay_bus;
    SseHub* hub = &d.hub;
    http::Server* server = d.server.get();
    d.readers.run<std::uint64_t>(
        [q, bus, hub, server](Reader& reader) {
          // After every page, let the stream clients have what it published.
          return reader.store().replay(q.types, q.start_time, q.end_time, *bus, [hub, server](const redis::ReplayProgress&) {
            (void)server->post([hub] { hub->pump_replayed(); });
          });
        },
        [d, r = std::move(r)](Outcome<std::uint64_t> o) mutable {
          if (!o.value) return r.send_error(503, redis_error_detail(o.error));
          d.counters.replayed += *o.value;
          d.hub.pump_replayed();
          http::JsonWriter w;
          w.begin_object().key("status").string("replay_complete").key("events_replayed").number(*o.value).end_object();
          r.send_json(200, std::move(w).take());
        });
  }));

  router.get("/events/stats", [d](Request, Responder r) {
    d.readers.run<redis::StreamStats>([](Reader& reader) { return reader.store().stats(); },
                                      [d, r = std::move(r)](Outcome<redis::StreamStats> o) mutable {
      if (!o.value) return r.send_error(503, redis_error_detail(o.error));
      const redis::StreamStats& st = *o.value;
      d.monitor.refresh();
      http::JsonWriter w;
      w.begin_object().key("stream_length").number(st.length);
      w.key("first_entry");
      write_raw_entry(w, st.first_entry);
      w.key("last_entry");
      write_raw_entry(w, st.last_entry);
      w.key("consumer_groups").number(static_cast<std::uint64_t>(st.groups.size()));
      w.key("groups").begin_array();
      for (const redis::GroupStats& g : st.groups) {
        w.begin_object().key("name").string(g.name).key("consumers").number(g.consumers);
        w.key("pending").number(g.pending).key("last-delivered-id").string(g.last_delivered_id).key("lag");
        if (g.lag) {
          w.number(*g.lag);
        } else {
          w.null();
        }
        w.end_object();
      }
      w.end_array().key("persister_lag").number(d.monitor.persister_lag()).end_object();
      r.send_json(200, std::move(w).take());
    });
  });

  router.get("/metrics", [d](Request, Responder r) {
    d.readers.run<std::uint64_t>(
        [](Reader& reader) { return reader.store().length(); },
        [d, r = std::move(r)](Outcome<std::uint64_t> o) mutable {
          d.monitor.refresh();
          const std::string text = d.metrics.render({.counters = d.counters,
                                                     .bus = d.monitor.bus(),
                                                     .redis = d.monitor,
                                                     .server = *d.server,
                                                     .stream_clients = d.hub.clients(),
                                                     .stream_length = o.value,
                                                     .undecodable_entries = d.tail.skipped()});
          r.send(http::Response::text(200, text, Metrics::kContentType));
        });
  });

  router.get("/events/stream", [d](Request req, Responder r) {
    EventQuery q;
    if (!parse_event_query(req, false, q, r)) return;
    std::optional<StreamCursor> resume;
    std::optional<std::string_view> from = req.header("Last-Event-ID");
    const char* from_key = "Last-Event-ID";
    if (!from || from->empty()) {
      from = req.query("from");
      from_key = "from";
    }
    if (from && !from->empty()) {
      resume = parse_stream_cursor(*from);
      if (!resume || resume->size() != d.hub.partitions()) {
        const std::string loc = std::string_view(from_key) == "from" ? query_loc("from") : "[\"header\",\"last-event-id\"]";
        const std::string msg = d.hub.partitions() == 1
                                    ? std::string("not a stream id (<ms>-<seq>)")
                                    : "not a stream cursor (" + std::to_string(d.hub.partitions()) +
                                          " stream ids <ms>-<seq>, one per partition, comma-separated)";
        return r.send_json(422, validation_detail({{loc, msg, "value_error.stream_id", {}}}));
      }
    }
    d.hub.open(q.types, resume, std::move(r));
  });

  return router;
}

}  // namespace tradpal::eventd
