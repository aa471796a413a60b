// tools/common/settings_table.h
//
// How the tools take their configuration: a table of settings, each an
// environment variable and a flag (`--flag value` or `--flag=value`; a flag
// wins over its variable; an empty variable counts as unset), applied to the
// tool's own Config. Errors are thrown as the tool's own error type (`Error`,
// constructible from std::string) with one line naming the setting, so each
// tool keeps its exit codes and messages. `-h`/`--help` sets `config.help`.
// Header only; used by eventd and tradpal-aggregator. Main thread, at start.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tradpal::tools {

// One setting: its variable, its flag, its help line and how it lands in Config.
template <typename Config>
struct Setting {
  const char* env;
  const char* flag;
  const char* help;
  std::function<void(Config&, std::string_view name, std::string_view value)> apply;
};

// A whole number in [min, max], or Error naming the setting.
template <typename Error>
std::uint64_t parse_whole_number(std::string_view name, std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    throw Error(std::string(name) + ": expected a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", got '" + std::string(text) + "'");
  }
  return v;
}

// The environment first, then the flags.
template <typename Error, typename Config>
void apply_settings(const std::vector<Setting<Config>>& table, int argc, const char* const* argv,
                    const std::function<const char*(const char*)>& getenv, Config& config) {
  for (const Setting<Config>& s : table) {
    const char* v = getenv(s.env);
    if (v != nullptr && *v != '\0') s.apply(config, s.env, v);
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      config.help = true;
      continue;
    }
    std::string_view value;
    bool have_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      have_value = true;
    }
    const auto match =
        std::find_if(table.begin(), table.end(), [&](const Setting<Config>& s) { return arg == s.flag; });
    if (match == table.end()) throw Error("unknown option '" + std::string(arg) + "' (see --help)");
    if (!have_value) {
      if (i + 1 >= argc) throw Error(std::string(arg) + ": missing value");
      value = argv[++i];
    }
    match->apply(config, match->flag, value);
  }
}

// The option lines of --help: each flag, its variable and its help, then -h.
template <typename Config>
std::string settings_usage(const std::vector<Setting<Config>>& table) {
  std::string out;
  for (const Setting<Config>& s : table) {
    std::string left = "  ";
    left += s.flag;
    left += " <value>";
    left.resize(std::max<std::size_t>(left.size() + 1, 30), ' ');
    out += left + s.env + "\n" + std::string(30, ' ') + s.help + "\n";
  }
  out += "  -h, --help                  this text\n";
  return out;
}

}  // namespace tradpal::tools
