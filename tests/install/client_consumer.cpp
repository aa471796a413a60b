// A program outside the build tree using the installed client library with
// `pkg-config tradpal-events-client` only: publishes to the installed eventd,
// reads the event back, and receives the next one from the live stream.
//   client_consumer http://127.0.0.1:PORT
#include <client/event_client.h>
#include <client/event_subscriber_client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  using namespace tradpal::client;
  if (argc != 2) return 2;
  try {
    EventClient client({.url = argv[1]});
    const PublishReceipt r = client.publish_trading_signal(R"({"symbol": "BTC/USDT", "action": "BUY"})", "install");
    const auto events = client.get_events({.types = {tradpal::EventType::trading_signal}});
    if (events.empty() || !events.back().stream_id || events.back().stream_id->to_string() != r.message_id) {
      std::fprintf(stderr, "client_consumer: the published event did not come back\n");
      return 1;
    }
    SubscriberOptions so;
    so.url = argv[1];
    so.from = r.message_id;
    EventSubscriberClient sub(so);
    std::atomic<int> got{0};
    std::string seen;
    sub.on(tradpal::EventType::risk_alert, [&](const StreamEvent& e) {
      seen = std::string(e.message_id);
      got.store(1);
    });
    sub.start();
    const PublishReceipt alert = client.publish_event(tradpal::EventType::risk_alert, R"({"level": "low"})");
    for (int i = 0; i < 500 && got.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    sub.stop();
    if (got.load() == 0 || seen != alert.message_id) {
      std::fprintf(stderr, "client_consumer: the stream did not deliver %s\n", alert.message_id.c_str());
      return 1;
    }
    std::printf("client_consumer: published %s, read it back, streamed %s\n", r.message_id.c_str(), seen.c_str());
    return 0;
  } catch (const ClientError& e) {
    std::fprintf(stderr, "client_consumer: %s\n", e.what());
    return 1;
  }
}
