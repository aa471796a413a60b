// tools/demo/trading_demo.cpp
//
// The in-process trading flow on one Bus: a market-data publisher for three
// symbols, a signal generator that turns moving-average crossings into
// trading_signal events, an executor that fills them as order_executed, and
// a portfolio service that marks positions to market, publishes
// portfolio_update and raises a risk_alert when the PnL falls below -1000.
// Every service reads the events in place (zero copies) on its own thread.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/bus.h"
#include "engine/json.h"

using namespace tradpal;

namespace {

std::mutex print_mutex;
std::atomic<int> step{0};

template <typename... Args>
void say(const char* fmt, Args... args) {
  std::lock_guard lock(print_mutex);
  std::printf("%3d. ", ++step);
  std::printf(fmt, args...);
  std::printf("\n");
}

// Runs `handler` on every matching event until `stop` is set and the
// subscription has caught up with the ring.
template <typename Handler>
std::thread service(Bus& bus, EventTypeSet types, std::atomic<bool>& stop, Handler handler) {
  return std::thread([&bus, types, &stop, handler = std::move(handler)]() mutable {
    auto sub = bus.subscribe({.types = types});
    Yield wait;
    for (;;) {
      if (sub.poll(handler, 256) != 0) {
        wait.reset();
        continue;
      }
      if (stop.load(std::memory_order_acquire) && sub.position() >= bus.ring().tail()) break;
      wait.idle(bus.ring());
    }
  });
}

double get_double(simdjson::ondemand::document& doc, const char* key) {
  double v = 0;
  if (doc[key].get_double().get(v)) return 0;
  return v;
}

std::string get_string(simdjson::ondemand::document& doc, const char* key) {
  std::string_view v;
  if (doc[key].get_string().get(v)) return {};
  return std::string(v);
}

}  // namespace

int main(int argc, char** argv) {
  const int ticks = argc > 1 ? std::max(10, std::atoi(argv[1])) : 120;
  Bus bus;
  std::atomic<bool> stop{false};
  std::printf("tradpal-events trading demo: %d ticks for BTC/USDT, ETH/USDT, SOL/USDT\n\n", ticks);

  // Signal generator: a fast and a slow moving average per symbol.
  std::thread signals = service(bus, {EventType::market_data_update}, stop,
                                [&, parser = simdjson::ondemand::parser{},
                                 fast = std::map<std::string, double>{},
                                 slow = std::map<std::string, double>{}](const EventView& e, bool) mutable {
    auto doc = parse_data(parser, e);
    if (doc.error()) return;
    const std::string symbol = get_string(doc.value_unsafe(), "symbol");
    const double price = get_double(doc.value_unsafe(), "price");
    const bool first = !fast.count(symbol);
    const double f0 = first ? price : fast[symbol];
    const double s0 = first ? price : slow[symbol];
    const double f1 = f0 + 0.5 * (price - f0);
    const double s1 = s0 + 0.1 * (price - s0);
    fast[symbol] = f1;
    slow[symbol] = s1;
    if (first) return;
    const char* action = nullptr;
    if (f0 <= s0 && f1 > s1) action = "BUY";
    if (f0 >= s0 && f1 < s1) action = "SELL";
    if (action == nullptr) return;
    char data[256];
    std::snprintf(data, sizeof data, R"({"symbol": "%s", "action": "%s", "price": %.2f, "confidence": %.2f})",
                  symbol.c_str(), action, price, std::min(0.99, 0.5 + std::fabs(f1 - s1) / price * 50));
    say("signal      %-8s %-4s at %10.2f", symbol.c_str(), action, price);
    (void)bus.publish_trading_signal(data, "signal_generator");
  });

  // Executor: a long-only book. BUY adds a lot; SELL takes profit on the
  // whole position, and is declined while the price is below cost (so a
  // sell-off leaves the book exposed and the risk service must step in).
  std::thread executor = service(bus, {EventType::trading_signal}, stop,
                                 [&, parser = simdjson::ondemand::parser{}, order = 0,
                                  held = std::map<std::string, std::pair<double, double>>{}](const EventView& e,
                                                                                           bool) mutable {
    auto doc = parse_data(parser, e);
    if (doc.error()) return;
    const std::string symbol = get_string(doc.value_unsafe(), "symbol");
    const std::string action = get_string(doc.value_unsafe(), "action");
    const double price = get_double(doc.value_unsafe(), "price");
    auto& [qty_held, cost] = held[symbol];
    double qty = 0;
    if (action == "BUY") {
      qty = symbol == "BTC/USDT" ? 0.5 : symbol == "ETH/USDT" ? 5.0 : 100.0;
      cost = (cost * qty_held + price * qty) / (qty_held + qty);
      qty_held += qty;
    } else if (qty_held > 0 && price > cost) {
      qty = qty_held;
      qty_held = 0;
    } else {
      say("declined    %-8s SELL at %10.2f (flat or below cost %.2f)", symbol.c_str(), price, cost);
      return;
    }
    char data[256];
    std::snprintf(data, sizeof data,
                  R"({"order_id": "ord-%d", "symbol": "%s", "side": "%s", "qty": %.4f, "price": %.2f})", ++order,
                  symbol.c_str(), action.c_str(), qty, price);
    say("executed    %-8s %-4s %8.4f @ %10.2f  (ord-%d)", symbol.c_str(), action.c_str(), qty, price, order);
    (void)bus.publish_event(EventType::order_executed, "executor", data);
  });

  // Portfolio: positions from fills, marked to the latest price.
  std::atomic<int> alerts{0};
  std::thread portfolio = service(
      bus, {EventType::order_executed, EventType::market_data_update}, stop,
      [&, parser = simdjson::ondemand::parser{}, cash = 0.0, position = std::map<std::string, double>{},
       last = std::map<std::string, double>{}, alerted = false](const EventView& e, bool) mutable {
        auto doc = parse_data(parser, e);
        if (doc.error()) return;
        const std::string symbol = get_string(doc.value_unsafe(), "symbol");
        if (e.type() == EventType::market_data_update) {
          last[symbol] = get_double(doc.value_unsafe(), "price");
        } else {
          const std::string side = get_string(doc.value_unsafe(), "side");
          const double qty = get_double(doc.value_unsafe(), "qty");
          const double price = get_double(doc.value_unsafe(), "price");
          const double signed_qty = side == "BUY" ? qty : -qty;
          position[symbol] += signed_qty;
          cash -= signed_qty * price;
        }
        double pnl = cash;
        for (const auto& [s, q] : position) pnl += q * last[s];
        if (e.type() == EventType::order_executed) {
          char data[256];
          std::snprintf(data, sizeof data, R"({"pnl": %.2f, "cash": %.2f, "positions": %zu})", pnl, cash,
                        position.size());
          say("portfolio   pnl %10.2f  cash %12.2f", pnl, cash);
          (void)bus.publish_portfolio_update(data, "portfolio_service");
        }
        if (pnl < -1000 && !alerted) {
          alerted = true;
          char data[160];
          std::snprintf(data, sizeof data, R"({"level": "high", "pnl": %.2f, "limit": -1000})", pnl);
          say("RISK ALERT  pnl %10.2f below -1000", pnl);
          (void)bus.publish_event(EventType::risk_alert, "risk_service", data);
          alerts.fetch_add(1);
        } else if (pnl > -500) {
          alerted = false;  // re-arm once the loss has recovered
        }
      });

  // Market data: a seeded random walk with a sell-off in the second half,
  // so a run always shows signals, fills and a risk alert.
  std::thread market([&] {
    std::mt19937_64 rng(20261129);
    std::normal_distribution<double> noise(0.0, 1.0);
    const std::vector<std::pair<std::string, double>> symbols = {
        {"BTC/USDT", 45000.0}, {"ETH/USDT", 3000.0}, {"SOL/USDT", 100.0}};
    std::vector<double> price;
    for (const auto& s : symbols) price.push_back(s.second);
    for (int t = 0; t < ticks; ++t) {
      const double drift = t < ticks / 2 ? 0.0008 : -0.004;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        price[i] *= 1.0 + drift + 0.004 * noise(rng);
        char data[160];
        std::snprintf(data, sizeof data, R"({"price": %.2f, "volume": %.3f})", price[i],
                      10 + std::fabs(noise(rng)) * 5);
        if (bus.publish_market_data(symbols[i].first, data) != PublishStatus::ok) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  market.join();

  // Let every service catch up with what the others still publish, then stop.
  const auto settle = [&] {
    auto tail = bus.ring().tail();
    for (int quiet = 0; quiet < 20;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const auto now = bus.ring().tail();
      quiet = now == tail ? quiet + 1 : 0;
      tail = now;
    }
  };
  settle();
  stop.store(true, std::memory_order_release);
  signals.join();
  executor.join();
  portfolio.join();

  std::printf("\nevents published by type:\n");
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    const auto t = static_cast<EventType>(i);
    if (bus.published(t) != 0) {
      std::printf("  %-22s %6llu\n", std::string(to_string(t)).c_str(),
                  static_cast<unsigned long long>(bus.published(t)));
    }
  }
  std::printf("  %-22s %6llu\n", "total", static_cast<unsigned long long>(bus.published_total()));
  const bool complete = bus.published(EventType::trading_signal) > 0 && bus.published(EventType::order_executed) > 0 &&
                        bus.published(EventType::portfolio_update) > 0 && alerts.load() > 0;
  std::printf("\nworkflow %s\n", complete ? "complete: data -> signal -> order -> portfolio -> risk alert"
                                          : "INCOMPLETE");
  return complete ? 0 : 1;
}
