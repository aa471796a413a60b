#include "processing/aggregation/bar_aggregator.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

#include "engine/json.h"

namespace tradpal::processing {
namespace {

constexpr TimestampNs kNever = std::numeric_limits<TimestampNs>::max();

// The window start of `t`: floor, also for times before 1970.
TimestampNs window_start(TimestampNs t, std::int64_t interval) noexcept {
  const TimestampNs q = t / interval;
  return (t % interval < 0 ? q - 1 : q) * interval;
}

void append_number(std::string& out, double v) {
  char buf[32];
  // Shortest text that reads back as the same double.
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_number(std::string& out, std::int64_t v) { out += std::to_string(v); }

}  // namespace

BarAggregator::BarAggregator(BarOptions options, Emit emit) : options_(std::move(options)), emit_(std::move(emit)) {
  if (options_.intervals.empty()) throw std::invalid_argument("bar aggregator: no interval");
  for (const auto iv : options_.intervals) {
    if (iv.count() <= 0) throw std::invalid_argument("bar aggregator: intervals must be positive");
    if (std::find(interval_ns_.begin(), interval_ns_.end(), iv.count()) != interval_ns_.end()) {
      throw std::invalid_argument("bar aggregator: an interval given twice");
    }
    interval_ns_.push_back(iv.count());
  }
  if (options_.allowed_lateness.count() < 0) throw std::invalid_argument("bar aggregator: negative lateness");
  lateness_ns_ = options_.allowed_lateness.count();
  next_close_ = kNever;
}

BarAggregator::Symbol& BarAggregator::symbol(std::string_view name) {
  if (const auto it = symbols_.find(name); it != symbols_.end()) return *it->second;
  auto s = std::make_unique<Symbol>();
  s->name = name;
  s->open.resize(interval_ns_.size());
  Symbol& ref = *s;
  symbols_.emplace(s->name, std::move(s));
  return ref;
}

bool BarAggregator::add(const MarketTick& tick) {
  if (!started_) {
    started_ = true;
    max_time_ = tick.time;
    watermark_ = tick.time - lateness_ns_;
  }
  Symbol* s = nullptr;
  bool took = false;
  for (std::size_t i = 0; i < interval_ns_.size(); ++i) {
    const std::int64_t iv = interval_ns_[i];
    const TimestampNs start = window_start(tick.time, iv);
    if (start + iv <= watermark_) continue;  // this window closed already
    if (s == nullptr) s = &symbol(tick.symbol);
    std::vector<Window>& windows = s->open[i];
    std::size_t k = windows.size();
    while (k > 0 && windows[k - 1].start > start) --k;  // mostly the last one: ticks come nearly in order
    took = true;
    if (k == 0 || windows[k - 1].start != start) {
      Window w;
      w.start = start;
      w.open = w.high = w.low = w.close = tick.price;
      w.volume = tick.volume;
      w.sum = tick.price;
      w.trades = 1;
      w.first_time = w.last_time = tick.time;
      windows.insert(windows.begin() + static_cast<std::ptrdiff_t>(k), w);
      next_close_ = std::min(next_close_, start + iv);
      continue;
    }
    Window& w = windows[k - 1];
    if (tick.time < w.first_time) {
      w.first_time = tick.time;
      w.open = tick.price;
    }
    if (tick.time >= w.last_time) {
      w.last_time = tick.time;
      w.close = tick.price;
    }
    w.high = std::max(w.high, tick.price);
    w.low = std::min(w.low, tick.price);
    w.volume += tick.volume;
    w.sum += tick.price;
    ++w.trades;
  }
  if (!took) {
    ++late_;
    return false;
  }
  if (tick.time > max_time_) {
    max_time_ = tick.time;
    watermark_ = max_time_ - lateness_ns_;
    if (watermark_ >= next_close_) close_up_to(watermark_);
  }
  return true;
}

void BarAggregator::flush() { close_up_to(kNever); }

void BarAggregator::close_up_to(TimestampNs watermark) {
  closing_.clear();
  for (auto& [name, s] : symbols_) {
    for (std::size_t i = 0; i < interval_ns_.size(); ++i) {
      std::vector<Window>& windows = s->open[i];
      std::size_t n = 0;
      while (n < windows.size() && (watermark == kNever || windows[n].start + interval_ns_[i] <= watermark)) {
        const Window& w = windows[n];
        closing_.push_back(Bar{s->name, interval_ns_[i], w.start, w.open, w.high, w.low, w.close, w.volume, w.trades,
                               w.sum, w.first_time, w.last_time});
        ++n;
      }
      windows.erase(windows.begin(), windows.begin() + static_cast<std::ptrdiff_t>(n));
    }
  }
  emit_closed(closing_);
  recompute_next_close();
}

void BarAggregator::emit_closed(std::vector<Bar>& bars) {
  std::sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) {
    if (a.interval_ns != b.interval_ns) return a.interval_ns < b.interval_ns;
    if (a.start != b.start) return a.start < b.start;
    return a.symbol < b.symbol;
  });
  for (const Bar& b : bars) {
    ++emitted_;
    if (emit_) emit_(b);
  }
}

void BarAggregator::recompute_next_close() noexcept {
  next_close_ = kNever;
  for (const auto& [name, s] : symbols_) {
    for (std::size_t i = 0; i < interval_ns_.size(); ++i) {
      if (!s->open[i].empty()) next_close_ = std::min(next_close_, s->open[i].front().start + interval_ns_[i]);
    }
  }
}

std::size_t BarAggregator::open_windows() const noexcept {
  std::size_t n = 0;
  for (const auto& [name, s] : symbols_) {
    for (const auto& windows : s->open) n += windows.size();
  }
  return n;
}

std::string BarAggregator::checkpoint() const {
  std::string out = "{\"version\":1,\"intervals\":[";
  for (std::size_t i = 0; i < interval_ns_.size(); ++i) {
    if (i != 0) out += ',';
    append_number(out, interval_ns_[i]);
  }
  out += "],\"lateness\":";
  append_number(out, lateness_ns_);
  out += ",\"started\":";
  out += started_ ? "true" : "false";
  out += ",\"max_time\":";
  append_number(out, max_time_);
  out += ",\"late\":";
  out += std::to_string(late_);
  out += ",\"emitted\":";
  out += std::to_string(emitted_);
  out += ",\"windows\":[";
  bool first = true;
  // Symbols in name order: equal states give equal checkpoints.
  std::vector<const Symbol*> ordered;
  for (const auto& [name, s] : symbols_) ordered.push_back(s.get());
  std::sort(ordered.begin(), ordered.end(), [](const Symbol* a, const Symbol* b) { return a->name < b->name; });
  for (const Symbol* s : ordered) {
    for (std::size_t i = 0; i < interval_ns_.size(); ++i) {
      for (const Window& w : s->open[i]) {
        out += first ? "{" : ",{";
        first = false;
        out += "\"symbol\":";
        append_quoted(out, s->name);
        out += ",\"interval\":";
        append_number(out, interval_ns_[i]);
        out += ",\"start\":";
        append_number(out, w.start);
        for (const auto& [key, v] : {std::pair{"open", w.open}, {"high", w.high}, {"low", w.low}, {"close", w.close},
                                     {"volume", w.volume}, {"sum", w.sum}}) {
          out += ",\"";
          out += key;
          out += "\":";
          append_number(out, v);
        }
        out += ",\"trades\":";
        out += std::to_string(w.trades);
        out += ",\"first\":";
        append_number(out, w.first_time);
        out += ",\"last\":";
        append_number(out, w.last_time);
        out += '}';
      }
    }
  }
  out += "]}";
  return out;
}

void BarAggregator::restore(std::string_view text) {
  auto bad = [](const std::string& why) { return std::invalid_argument("bar aggregator checkpoint: " + why); };
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) throw bad("not JSON");
  std::int64_t version = 0;
  if (root["version"].get(version) != simdjson::SUCCESS || version != 1) throw bad("not version 1");
  simdjson::dom::array intervals;
  if (root["intervals"].get(intervals) != simdjson::SUCCESS || intervals.size() != interval_ns_.size()) {
    throw bad("other intervals");
  }
  std::size_t k = 0;
  for (auto iv : intervals) {
    std::int64_t v = 0;
    if (iv.get(v) != simdjson::SUCCESS || v != interval_ns_[k++]) throw bad("other intervals");
  }
  std::int64_t lateness = 0;
  if (root["lateness"].get(lateness) != simdjson::SUCCESS || lateness != lateness_ns_) throw bad("another lateness");
  bool started = false;
  std::int64_t max_time = 0;
  std::uint64_t late = 0, emitted = 0;
  if (root["started"].get(started) != simdjson::SUCCESS || root["max_time"].get(max_time) != simdjson::SUCCESS ||
      root["late"].get(late) != simdjson::SUCCESS || root["emitted"].get(emitted) != simdjson::SUCCESS) {
    throw bad("missing counters");
  }
  decltype(symbols_) symbols;
  simdjson::dom::array windows;
  if (root["windows"].get(windows) != simdjson::SUCCESS) throw bad("no windows");
  for (auto w : windows) {
    std::string_view name;
    std::int64_t interval = 0;
    Window win;
    if (w["symbol"].get(name) != simdjson::SUCCESS || w["interval"].get(interval) != simdjson::SUCCESS ||
        w["start"].get(win.start) != simdjson::SUCCESS || w["open"].get(win.open) != simdjson::SUCCESS ||
        w["high"].get(win.high) != simdjson::SUCCESS || w["low"].get(win.low) != simdjson::SUCCESS ||
        w["close"].get(win.close) != simdjson::SUCCESS || w["volume"].get(win.volume) != simdjson::SUCCESS || w["sum"].get(win.sum) != simdjson::SUCCESS ||
        w["trades"].get(win.trades) != simdjson::SUCCESS || w["first"].get(win.first_time) != simdjson::SUCCESS ||
        w["last"].get(win.last_time) != simdjson::SUCCESS) {
      throw bad("a window without its fields");
    }
    const auto at = std::find(interval_ns_.begin(), interval_ns_.end(), interval);
    if (at == interval_ns_.end()) throw bad("a window of another interval");
    auto it = symbols.find(name);
    if (it == symbols.end()) {
      auto s = std::make_unique<Symbol>();
      s->name = name;
      s->open.resize(interval_ns_.size());
      it = symbols.emplace(s->name, std::move(s)).first;
    }
    auto& list = it->second->open[static_cast<std::size_t>(at - interval_ns_.begin())];
    list.insert(std::upper_bound(list.begin(), list.end(), win.start,
                                 [](TimestampNs start, const Window& x) { return start < x.start; }),
                win);
  }
  symbols_ = std::move(symbols);
  started_ = started;
  max_time_ = max_time;
  watermark_ = started ? max_time - lateness_ns_ : 0;
  late_ = late;
  emitted_ = emitted;
  recompute_next_close();
}

}  // namespace tradpal::processing
