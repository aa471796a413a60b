// tools/demo/risk_monitor.cpp
//
// The demo's second participant: a separate process that does not embed the
// bus. It follows eventd's live stream with EventSubscriberClient, and for
// every trading signal whose confidence is at least 0.8 it publishes a
// risk_alert over HTTP with EventClient, naming the signal's message id.
//
//   risk_monitor [--signals N]   (EVENT_SERVICE_URL; exits after N signals,
//                                 or on SIGINT/SIGTERM)
#include <signal.h>

#include <simdjson.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "client/event_client.h"
#include "client/event_subscriber_client.h"
#include "engine/json.h"

namespace {

tradpal::client::EventSubscriberClient* g_sub = nullptr;
extern "C" void on_signal(int) {
  if (g_sub != nullptr) g_sub->stop();
}

// The signal's symbol and confidence (0 when absent).
void read_signal(std::string_view data, std::string& symbol, double& confidence) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(data);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return;
  std::string_view s;
  if (!doc["symbol"].get_string().get(s)) symbol = std::string(s);
  doc.rewind();
  double c = 0;
  if (!doc["confidence"].get_double().get(c)) confidence = c;
}

}  // namespace

int main(int argc, char** argv) {
  long limit = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--signals") == 0 && i + 1 < argc) {
      limit = std::atol(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: risk_monitor [--signals N]\n");
      return 2;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    tradpal::client::EventClient client;
    tradpal::client::EventSubscriberClient sub;
    std::atomic<long> seen{0};
    sub.on(tradpal::EventType::trading_signal, [&](const tradpal::client::StreamEvent& e) {
      std::string symbol = "?";
      double confidence = 0;
      read_signal(e.event.data, symbol, confidence);
      std::printf("risk_monitor: signal %.*s %s confidence %.2f", static_cast<int>(e.message_id.size()),
                  e.message_id.data(), symbol.c_str(), confidence);
      if (confidence >= 0.8) {
        std::string alert = "{\"symbol\": ";
        tradpal::append_quoted(alert, symbol);
        alert += ", \"level\": \"review\", \"reason\": \"high-confidence signal\", \"signal_message_id\": ";
        tradpal::append_quoted(alert, e.message_id);
        alert += "}";
        const auto r = client.publish_event(tradpal::EventType::risk_alert, alert, "risk_monitor");
        std::printf(" -> risk_alert %s\n", r.message_id.c_str());
      } else {
        std::printf(" -> no alert\n");
      }
      if (limit > 0 && seen.fetch_add(1) + 1 >= limit) sub.stop();
    });
    sub.on_state([](tradpal::client::StreamState s, std::string_view) {
      if (s == tradpal::client::StreamState::live) std::printf("risk_monitor: following the stream\n");
    });
    g_sub = &sub;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sub.run();
    g_sub = nullptr;
    return 0;
  } catch (const tradpal::client::ClientError& e) {
    std::fprintf(stderr, "risk_monitor: %s\n", e.what());
    return 3;
  }
}
