// client/event_client.h
//
// EventClient: a process that does not embed the bus talks to eventd over
// HTTP/1.1 with it — the calls of the Python client (publish_event,
// publish_market_data, publish_trading_signal, publish_portfolio_update,
// get_events, get_event_stats, health_check) plus replay, types and metrics.
//
//   tradpal::client::EventClient client;            // EVENT_SERVICE_URL
//   auto r = client.publish_trading_signal(R"({"symbol": "BTC/USDT", "action": "BUY"})");
//   std::cout << r.message_id << '\n';
//
// Connections are kept alive and requests pipelined on a few of them (see
// ClientOptions), so many publishes can be in flight: the *_async calls
// return at once with a std::future; the plain calls wait for it.
//
// Errors: every call throws ClientError (client_error.h): usage for input
// refused before sending (data or metadata that is not a JSON object never
// leaves the process), rejected/server with the server's status and detail,
// unreachable/timed_out/protocol/closed otherwise.
//
// Retries (detail/http_pool.h) never publish an event twice: a POST goes out
// again only when it had not reached the server whole. A publish that fails
// with request_sent() == true may have happened: look for it (get_events)
// before publishing it again.
//
// Threads and lifetimes: one I/O thread per client, started by the
// constructor and joined by the destructor. Every method may be called from
// any thread. Futures outlive the client safely: what is still pending when
// it is destroyed fails with ErrorKind::closed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_error.h"
#include "client/service_url.h"
#include "engine/event.h"
#include "engine/event_type.h"

namespace tradpal::client {

namespace detail {
class HttpPool;
}

struct ClientOptions {
  std::string url;    // empty: EVENT_SERVICE_URL, else http://localhost:8011
  std::string token;  // bearer token; empty: EVENT_SERVICE_TOKEN, when set
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};  // from the call to its answer
  std::size_t max_connections = 4;
  std::size_t max_pipeline = 16;  // requests in flight per connection
};

// What a publish hands back: the Redis stream id of the stored event and,
// from publish_event, its event id (the convenience endpoints answer the
// message id only, as the Python service does).
struct PublishReceipt {
  std::string message_id;
  std::string event_id;
};

// A filter for get_events and replay_events. Times are ISO 8601 as the
// service takes them (naive times are UTC); empty means unbounded.
struct EventQuery {
  std::vector<EventType> types;  // empty: every type
  std::optional<std::size_t> limit;  // get_events only; the service's default is 100, its maximum 1000
  std::string start_time;
  std::string end_time;
};

struct HealthReport {
  bool healthy = false;
  std::string status;  // "healthy", or what the service says it is
  std::string json;    // the whole answer
};

struct EventStats {
  std::uint64_t stream_length = 0;
  std::uint64_t consumer_groups = 0;
  std::string json;  // the whole answer (first and last entries, groups)
};

class EventClient {
 public:
  // Throws ClientError(usage) when the URL is not http://host[:port][/prefix].
  explicit EventClient(ClientOptions options = {});
  ~EventClient();
  EventClient(const EventClient&) = delete;
  EventClient& operator=(const EventClient&) = delete;

  // ---- publishing (POST): data and metadata are JSON objects as text ----------
  // An empty source leaves the service's default ("api").
  std::future<PublishReceipt> publish_event_async(EventType type, std::string_view data_json = "{}",
                                                  std::string_view source = {}, std::string_view metadata_json = "{}");
  PublishReceipt publish_event(EventType type, std::string_view data_json = "{}", std::string_view source = {},
                               std::string_view metadata_json = "{}") {
    return publish_event_async(type, data_json, source, metadata_json).get();
  }
  // data is {"symbol": symbol, **market_data}.
  std::future<PublishReceipt> publish_market_data_async(std::string_view symbol, std::string_view market_data_json,
                                                        std::string_view source = {});
  PublishReceipt publish_market_data(std::string_view symbol, std::string_view market_data_json,
                                     std::string_view source = {}) {
    return publish_market_data_async(symbol, market_data_json, source).get();
  }
  std::future<PublishReceipt> publish_trading_signal_async(std::string_view signal_json, std::string_view source = {});
  PublishReceipt publish_trading_signal(std::string_view signal_json, std::string_view source = {}) {
    return publish_trading_signal_async(signal_json, source).get();
  }
  std::future<PublishReceipt> publish_portfolio_update_async(std::string_view updates_json,
                                                             std::string_view source = {});
  PublishReceipt publish_portfolio_update(std::string_view updates_json, std::string_view source = {}) {
    return publish_portfolio_update_async(updates_json, source).get();
  }

  // ---- reading (GET: retried on a lost connection) ----------------------------------
  // Oldest first. Each event's stream_id is its message id (the id `tail`
  // and EventSubscriberClient resume from).
  std::vector<Event> get_events(const EventQuery& query = {});
  // Replays the matching stored events onto the service's bus; returns how many.
  std::uint64_t replay_events(const EventQuery& query = {});
  EventStats get_event_stats();
  // An unhealthy service (503) is a report with healthy == false, not an error.
  HealthReport health_check();
  std::vector<std::string> event_types();
  std::string metrics();  // Prometheus text

  [[nodiscard]] const ServiceUrl& url() const noexcept { return url_; }
  [[nodiscard]] const ClientOptions& options() const noexcept { return options_; }

 private:
  ClientOptions options_;
  ServiceUrl url_;
  std::unique_ptr<detail::HttpPool> pool_;
};

}  // namespace tradpal::client
