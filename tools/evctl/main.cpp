// tools/evctl/main.cpp
//
// evctl: eventd from a terminal or a script, on the C++ client library
// (client/event_client.h, client/event_subscriber_client.h).
//
// Exit codes (a script can branch on them):
//   0  done
//   1  the service refused the request (4xx), or answered something evctl cannot read
//   2  usage: a bad command, option, missing option value, type or JSON text
//   3  the service is unreachable or did not answer in time
//   4  the service answered that it is failing (5xx, or `health` says unhealthy)
// Errors go to stderr; results to stdout (tables on a terminal, one JSON
// object per line otherwise; --human / --json force either).
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/event_client.h"
#include "client/event_subscriber_client.h"
#include "engine/json.h"
#include "engine/stream_id.h"
#include "tools/evctl/output.h"
#include "tools/evctl/route.h"
#include "tools/evctl/validate.h"

namespace {

using tradpal::EventType;
using tradpal::client::ClientError;
using tradpal::client::ErrorKind;
using tradpal::evctl::Format;

constexpr std::string_view kVersion = "evctl (tradpal-events) 0.1.0";

constexpr int kOk = 0, kRejected = 1, kUsage = 2, kUnreachable = 3, kFailing = 4;

struct CommandHelp {
  std::string_view name;
  std::string_view synopsis;
  std::string_view text;
};

constexpr CommandHelp kCommands[] = {
    {"health", "evctl health", "Asks the service whether it is healthy. Exit 0 when healthy, 4 when it answers unhealthy."},
    {"types", "evctl types", "Lists the event types the service accepts."},
    {"stats", "evctl stats", "Shows the stream's length, first and last entries and consumer groups."},
    {"metrics", "evctl metrics", "Prints the service's Prometheus metrics as text."},
    {"publish", "evctl publish <event_type> [data-json] [--source S] [--metadata JSON]",
     "Publishes one event (data and metadata are JSON objects; data defaults to {}).\n"
     "Prints its message id and event id once Redis has it."},
    {"list", "evctl list [--type T]... [--limit N] [--start ISO] [--end ISO]",
     "Lists stored events, oldest first, each with its message id (the id tail --from takes).\n"
     "Without --start, the most recent N (100 by default, at most 1000)."},
    {"replay", "evctl replay [--type T]... [--start ISO] [--end ISO]",
     "Puts the matching stored events on the service's bus again; prints how many."},
    {"tail", "evctl tail [--type T]... [--from MESSAGE_ID] [--give-up SECONDS]",
     "Prints events as they are stored, from the stream's end (or after --from).\n"
     "Follows eventd across restarts, resuming after the last event printed: nothing\n"
     "is lost or printed twice. Gives up (exit 3) after SECONDS without a stream\n"
     "(60 by default; 0: never). Stops cleanly on SIGINT or SIGTERM (exit 0)."},
    {"validate", "evctl validate <file|-> --schemas DIR",
     "Checks a file of events (one JSON object per line: the wire event or a POST /events\n"
     "body) against the JSON Schemas in DIR (<event_type>.json, as eventd's\n"
     "EVENT_SERVICE_SCHEMAS), without asking the service. Prints every failing line with\n"
     "the path into data; exit 0 when all pass, 1 when one fails, 2 when the file or the\n"
     "schemas cannot be read."},
    {"route", "evctl route --rules FILE [--type T]... [--limit N] [--start ISO] [--end ISO]",
     "A dry run of a routing rules file (tradpal-router's) over the stored events the\n"
     "options select (as list): each event with the rules it matches, the streams it\n"
     "would be copied to and its copies' tags, then each rule's count. Writes nothing.\n"
     "A rules file that does not load: exit 2, with the place in the file named."},
};

const CommandHelp* find_command(std::string_view name) {
  for (const CommandHelp& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

void print_usage(std::FILE* out) {
  std::fputs("usage: evctl [--url URL] [--timeout SECONDS] [--json | --human] <command> [options]\n\ncommands:\n", out);
  for (const CommandHelp& c : kCommands) std::fprintf(out, "  %.*s\n", static_cast<int>(c.synopsis.size()), c.synopsis.data());
  std::fputs(
      "\noptions:\n"
      "  --url URL          eventd's address (default: EVENT_SERVICE_URL, else http://localhost:8011)\n"
      "  --timeout SECONDS  connect and answer timeout (default 10)\n"
      "  --json, --human    output as JSON lines or as text (default: text on a terminal)\n"
      "  --help, -h         this help; `evctl help <command>` or `evctl <command> --help` for one\n"
      "  --version          the version\n"
      "EVENT_SERVICE_TOKEN, when set, is sent as a bearer token.\n"
      "exit codes: 0 ok, 1 refused by the service (4xx), 2 usage, 3 unreachable or timed out,\n"
      "            4 the service is failing (5xx or unhealthy)\n",
      out);
}

int usage_error(const std::string& why) {
  std::fprintf(stderr, "evctl: %s\n(evctl --help for usage)\n", why.c_str());
  return kUsage;
}

int exit_code(const ClientError& e) {
  switch (e.kind()) {
    case ErrorKind::usage: return kUsage;
    case ErrorKind::rejected: return kRejected;
    case ErrorKind::server: return kFailing;
    case ErrorKind::unreachable:
    case ErrorKind::timed_out:
    case ErrorKind::closed: return kUnreachable;
    case ErrorKind::protocol: return kRejected;
  }
  return kRejected;
}

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>, std::less<>> options;  // repeated ones keep every value
  std::optional<Format> format;
  std::string url;
  std::optional<double> timeout;
  bool help = false;
  bool command_for_help = false;  // `evctl help <command>`
  bool version = false;
};

// Options that take a value, and which commands take them.
struct OptionSpec {
  std::string_view name;
  std::string_view commands;  // space-separated, or "*" for every command
};
constexpr OptionSpec kValueOptions[] = {
    {"--type", "list replay tail route"}, {"--limit", "list route"},     {"--start", "list replay route"},
    {"--end", "list replay route"},       {"--from", "tail"},            {"--give-up", "tail"},
    {"--source", "publish"},              {"--metadata", "publish"},     {"--schemas", "validate"},
    {"--rules", "route"},
};

bool option_allowed(std::string_view commands, std::string_view command) {
  std::size_t at = 0;
  while (at < commands.size()) {
    const std::size_t end = std::min(commands.find(' ', at), commands.size());
    if (commands.substr(at, end - at) == command) return true;
    at = end + 1;
  }
  return false;
}

// Parses argv into `a`; returns an error text for a usage error.
std::optional<std::string> parse_args(int argc, char** argv, Args& a) {
  std::vector<std::pair<std::string, std::string>> pending;  // value options, checked once the command is known
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--version") {
      a.version = true;
    } else if (arg == "--json") {
      a.format = Format::json;
    } else if (arg == "--human") {
      a.format = Format::human;
    } else if (arg == "--url" || arg == "--timeout" || arg.starts_with("--url=") || arg.starts_with("--timeout=")) {
      const std::string_view name = arg.substr(0, arg.find('='));
      auto v = arg.find('=') != std::string_view::npos ? std::optional<std::string>(std::string(arg.substr(arg.find('=') + 1)))
                                                       : value(name);
      if (!v || v->empty()) return std::string(name) + " needs a value";
      if (name == "--url") {
        a.url = *v;
      } else {
        double s = 0;
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), s);
        if (ec != std::errc() || end != v->data() + v->size() || !(s > 0) || s > 86400) {
          return "--timeout takes a number of seconds above 0, not: " + *v;
        }
        a.timeout = s;
      }
    } else if (arg.starts_with("--")) {
      const std::string name(arg.substr(0, arg.find('=')));
      bool known = false;
      for (const OptionSpec& o : kValueOptions) known = known || o.name == name;
      if (!known) return "unknown option " + std::string(arg);
      std::optional<std::string> v;
      if (arg.find('=') != std::string_view::npos) {
        v = std::string(arg.substr(arg.find('=') + 1));
      } else {
        v = value(name);
      }
      if (!v) return name + " needs a value";
      pending.emplace_back(name, *v);
    } else if (a.command.empty() && arg == "help") {
      a.help = true;  // `evctl help [command]`
      a.command_for_help = true;
    } else if (a.command.empty()) {
      a.command = arg;
    } else {
      a.positional.emplace_back(arg);
    }
  }
  if (!a.command.empty() && find_command(a.command) == nullptr) return "unknown command '" + a.command + "'";
  if (a.help || a.version) return std::nullopt;
  if (a.command.empty()) return std::string("no command given");
  for (auto& [name, v] : pending) {
    for (const OptionSpec& o : kValueOptions) {
      if (o.name == name && !option_allowed(o.commands, a.command)) {
        return "evctl " + a.command + " takes no " + name;
      }
    }
    a.options[name].push_back(std::move(v));
  }
  return std::nullopt;
}

std::string one(const Args& a, std::string_view name) {
  const auto it = a.options.find(name);
  return it == a.options.end() ? std::string() : it->second.back();
}

std::optional<std::string> parse_query(const Args& a, tradpal::client::EventQuery& q) {
  if (const auto it = a.options.find("--type"); it != a.options.end()) {
    for (const std::string& t : it->second) {
      const auto type = tradpal::parse_event_type(t);
      if (!type) return "unknown event type '" + t + "' (evctl types lists them)";
      q.types.push_back(*type);
    }
  }
  if (const std::string limit = one(a, "--limit"); !limit.empty()) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), n);
    if (ec != std::errc() || end != limit.data() + limit.size() || n == 0 || n > 1000) {
      return "--limit takes a whole number from 1 to 1000, not: " + limit;
    }
    q.limit = n;
  }
  q.start_time = one(a, "--start");
  q.end_time = one(a, "--end");
  return std::nullopt;
}

// ---- commands ------------------------------------------------------------------------

int cmd_health(tradpal::client::EventClient& c, Format f) {
  const auto h = c.health_check();
  if (f == Format::json) {
    std::printf("%s\n", tradpal::evctl::one_line(h.json).c_str());
  } else {
    std::printf("%s (%s)\n", h.status.c_str(), c.url().authority().c_str());
  }
  if (!h.healthy) std::fprintf(stderr, "evctl: the service reports %s\n", h.status.c_str());
  return h.healthy ? kOk : kFailing;
}

int cmd_types(tradpal::client::EventClient& c, Format f) {
  const auto types = c.event_types();
  if (f == Format::json) {
    std::string out = "{\"event_types\": [";
    for (std::size_t i = 0; i < types.size(); ++i) {
      if (i > 0) out += ", ";
      tradpal::append_quoted(out, types[i]);
    }
    std::printf("%s]}\n", out.c_str());
  } else {
    for (const auto& t : types) std::printf("%s\n", t.c_str());
  }
  return kOk;
}

int cmd_stats(tradpal::client::EventClient& c, Format f) {
  const auto s = c.get_event_stats();
  if (f == Format::json) {
    std::printf("%s\n", tradpal::evctl::one_line(s.json).c_str());
  } else {
    std::printf("stream_length    %llu\nconsumer_groups  %llu\n", static_cast<unsigned long long>(s.stream_length),
                static_cast<unsigned long long>(s.consumer_groups));
  }
  return kOk;
}

int cmd_publish(tradpal::client::EventClient& c, const Args& a, Format f) {
  if (a.positional.empty() || a.positional.size() > 2) {
    return usage_error("publish takes an event type and, optionally, the data as a JSON object");
  }
  const auto type = tradpal::parse_event_type(a.positional[0]);
  if (!type) return usage_error("unknown event type '" + a.positional[0] + "' (evctl types lists them)");
  const std::string data = a.positional.size() == 2 ? a.positional[1] : "{}";
  const std::string metadata = a.options.contains("--metadata") ? one(a, "--metadata") : "{}";
  const std::string source = one(a, "--source");
  if (a.options.contains("--source") && source.empty()) return usage_error("--source needs a non-empty value");
  const auto r = c.publish_event(*type, data, source, metadata);
  if (f == Format::json) {
    std::string out = "{\"message_id\": ";
    tradpal::append_quoted(out, r.message_id);
    out += ", \"event_id\": ";
    tradpal::append_quoted(out, r.event_id);
    std::printf("%s, \"status\": \"published\"}\n", out.c_str());
  } else {
    std::printf("published %s  message_id %s  event_id %s\n", a.positional[0].c_str(), r.message_id.c_str(),
                r.event_id.c_str());
  }
  return kOk;
}

int cmd_list(tradpal::client::EventClient& c, const Args& a, Format f) {
  if (!a.positional.empty()) return usage_error("list takes no arguments besides its options");
  tradpal::client::EventQuery q;
  if (auto why = parse_query(a, q)) return usage_error(*why);
  const auto events = c.get_events(q);
  if (f == Format::json) {
    for (const auto& e : events) {
      std::printf("%s\n",
                  tradpal::evctl::event_line(e, e.stream_id ? e.stream_id->to_string() : "", Format::json).c_str());
    }
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : events) {
    rows.push_back({e.stream_id ? e.stream_id->to_string() : "-", tradpal::format_iso_timestamp(e.timestamp_ns),
                    std::string(tradpal::to_string(e.type)), e.source, tradpal::evctl::one_line(e.data)});
  }
  std::fputs(tradpal::evctl::table({"MESSAGE_ID", "TIMESTAMP", "TYPE", "SOURCE", "DATA"}, rows).c_str(), stdout);
  std::printf("(%zu events)\n", events.size());
  return kOk;
}

int cmd_route(tradpal::client::EventClient& c, const Args& a, Format f) {
  const std::string path = one(a, "--rules");
  if (path.empty()) return usage_error("route needs --rules FILE");
  tradpal::client::EventQuery q;
  if (auto why = parse_query(a, q)) return usage_error(*why);
  const auto rules = tradpal::evctl::load_rules_for_dry_run(path);
  if (!rules) return kUsage;
  return tradpal::evctl::dry_run(*rules, c.get_events(q), f);
}

int cmd_replay(tradpal::client::EventClient& c, const Args& a, Format f) {
  if (!a.positional.empty()) return usage_error("replay takes no arguments besides its options");
  tradpal::client::EventQuery q;
  if (auto why = parse_query(a, q)) return usage_error(*why);
  const auto n = c.replay_events(q);
  if (f == Format::json) {
    std::printf("{\"status\": \"replay_complete\", \"events_replayed\": %llu}\n", static_cast<unsigned long long>(n));
  } else {
    std::printf("replayed %llu events\n", static_cast<unsigned long long>(n));
  }
  return kOk;
}

tradpal::client::EventSubscriberClient* g_tail = nullptr;

extern "C" void stop_tail(int) {
  if (g_tail != nullptr) g_tail->stop();  // stop() only writes to a pipe: async-signal-safe
}

int cmd_tail(const Args& a, Format f, const std::string& url, std::chrono::milliseconds timeout) {
  if (!a.positional.empty()) return usage_error("tail takes no arguments besides its options");
  tradpal::client::EventQuery q;
  if (auto why = parse_query(a, q)) return usage_error(*why);
  tradpal::client::SubscriberOptions o;
  o.url = url;
  o.connect_timeout = timeout;
  o.answer_timeout = timeout;
  o.from = one(a, "--from");
  if (a.options.contains("--from") && o.from.empty()) return usage_error("--from needs a message id");
  o.give_up_after = std::chrono::seconds(60);
  if (const std::string g = one(a, "--give-up"); !g.empty()) {
    unsigned s = 0;
    const auto [end, ec] = std::from_chars(g.data(), g.data() + g.size(), s);
    if (ec != std::errc() || end != g.data() + g.size()) return usage_error("--give-up takes whole seconds, not: " + g);
    o.give_up_after = std::chrono::seconds(s);
  }
  tradpal::client::EventSubscriberClient sub(o);
  auto print = [f](const tradpal::client::StreamEvent& e) {
    std::printf("%s\n", tradpal::evctl::event_line(e.event, e.message_id, f).c_str());
    std::fflush(stdout);
  };
  if (q.types.empty()) {
    sub.on_any(print);
  } else {
    for (const EventType t : q.types) sub.on(t, print);
  }
  // Only changes a person needs to see: one line when the stream is lost,
  // one when it is back (failed attempts in between are not repeated).
  bool was_live = false, down = false;
  sub.on_state([&was_live, &down](tradpal::client::StreamState s, std::string_view detail) {
    using tradpal::client::StreamState;
    if (s == StreamState::disconnected && !down) {
      down = true;
      std::fprintf(stderr, "evctl: stream lost (%.*s); reconnecting\n", static_cast<int>(detail.size()),
                   detail.data());
    } else if (s == StreamState::live && detail.starts_with("the service says")) {
      std::fprintf(stderr, "evctl: %.*s\n", static_cast<int>(detail.size()), detail.data());
    } else if (s == StreamState::live) {
      if (was_live && down) std::fprintf(stderr, "evctl: stream resumed\n");
      was_live = true;
      down = false;
    }
  });
  g_tail = &sub;
  struct sigaction sa {};
  sa.sa_handler = stop_tail;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sub.run();  // throws ClientError when it gives up
  g_tail = nullptr;
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (auto why = parse_args(argc, argv, a)) {
    if (argc == 1) {
      print_usage(stderr);
      return kUsage;
    }
    return usage_error(*why);
  }
  if (a.version) {
    std::printf("%.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
    return kOk;
  }
  if (a.help) {
    if (const CommandHelp* c = find_command(a.command)) {
      std::printf("usage: %.*s\n\n%.*s\n\n(evctl --help for the options every command takes)\n",
                  static_cast<int>(c->synopsis.size()), c->synopsis.data(), static_cast<int>(c->text.size()),
                  c->text.data());
    } else {
      print_usage(stdout);
    }
    return kOk;
  }
  const Format format = a.format.value_or(::isatty(STDOUT_FILENO) != 0 ? Format::human : Format::json);
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(a.timeout.value_or(10.0) * 1000));
  const std::string url = a.url.empty() ? tradpal::client::ServiceUrl::from_environment() : a.url;
  if (a.command == "validate") {
    if (a.positional.size() != 1) return usage_error("validate takes one file (or - for stdin)");
    const auto schemas = a.options.find("--schemas");
    if (schemas == a.options.end() || schemas->second.back().empty()) return usage_error("validate needs --schemas DIR");
    return tradpal::evctl::validate_file(a.positional[0], schemas->second.back(), format);
  }
  try {
    if (a.command == "tail") return cmd_tail(a, format, url, timeout);
    tradpal::client::ClientOptions o;
    o.url = url;
    o.connect_timeout = timeout;
    o.request_timeout = timeout;
    o.max_connections = 1;
    tradpal::client::EventClient client(o);
    if (a.command != "publish" && !a.positional.empty()) {
      return usage_error(a.command + " takes no arguments");
    }
    if (a.command == "health") return cmd_health(client, format);
    if (a.command == "types") return cmd_types(client, format);
    if (a.command == "stats") return cmd_stats(client, format);
    if (a.command == "metrics") {
      std::fputs(client.metrics().c_str(), stdout);
      return kOk;
    }
    if (a.command == "publish") return cmd_publish(client, a, format);
    if (a.command == "list") return cmd_list(client, a, format);
    if (a.command == "replay") return cmd_replay(client, a, format);
    if (a.command == "route") return cmd_route(client, a, format);
    return usage_error("unknown command '" + a.command + "'");
  } catch (const ClientError& e) {
    std::fprintf(stderr, "evctl: %s\n", e.what());
    if (e.request_sent() && (e.kind() == ErrorKind::unreachable || e.kind() == ErrorKind::timed_out) &&
        a.command == "publish") {
      std::fprintf(stderr, "evctl: the request had been sent: the event may have been published (evctl list)\n");
    }
    return exit_code(e);
  }
}
