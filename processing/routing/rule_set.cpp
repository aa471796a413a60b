#include "processing/routing/rule_set.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "processing/routing/rule_error.h"
#include "processing/routing/yaml_to_json.h"

namespace tradpal::routing {
namespace {

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

bool good_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

bool good_stream(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 512 &&
         std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; });
}

void add_target(Rule& rule, simdjson::dom::element e, const std::string& where) {
  std::string_view name;
  if (e.get_string().get(name) != simdjson::SUCCESS || !good_stream(name)) {
    throw RuleError(where, "expected a stream name (no spaces or control characters)");
  }
  if (std::find(rule.copy_to.begin(), rule.copy_to.end(), name) == rule.copy_to.end()) {
    rule.copy_to.emplace_back(name);
  }
}

Rule compile_rule(simdjson::dom::element spec, const std::string& where) {
  simdjson::dom::object obj;
  if (spec.get_object().get(obj) != simdjson::SUCCESS) throw RuleError(where, "a rule is a JSON object");
  Rule rule;
  bool named = false;
  for (auto [key, value] : obj) {
    const std::string at = where + "." + std::string(key);
    if (key == "name") {
      std::string_view name;
      if (value.get_string().get(name) != simdjson::SUCCESS || !good_name(name)) {
        throw RuleError(at, "expected a name of letters, digits, '_', '.' or '-' (at most 128)");
      }
      rule.name = std::string(name);
      named = true;
    } else if (key == "description") {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) throw RuleError(at, "expected a string");
      rule.description = std::string(text);
    } else if (key == "when") {
      rule.when = Condition::compile(value, at);
    } else if (key == "copy_to") {
      simdjson::dom::array list;
      if (value.get_array().get(list) == simdjson::SUCCESS) {
        if (list.size() == 0) throw RuleError(at, "expected at least one stream");
        std::size_t i = 0;
        for (simdjson::dom::element e : list) add_target(rule, e, at + "[" + std::to_string(i++) + "]");
      } else {
        add_target(rule, value, at);
      }
    } else if (key == "tag") {
      simdjson::dom::object tags;
      if (value.get_object().get(tags) != simdjson::SUCCESS || tags.size() == 0) {
        throw RuleError(at, "expected an object of metadata keys and values");
      }
      for (auto [k, v] : tags) rule.tags.emplace_back(std::string(k), simdjson::minify(v));
    } else {
      throw RuleError(where, "unknown key " + in_quotes(key) + " (a rule has name, description, when, copy_to, tag)");
    }
  }
  if (!named) throw RuleError(where, "a rule needs a name");
  if (rule.copy_to.empty() && rule.tags.empty()) {
    throw RuleError(where, "rule " + in_quotes(rule.name) + " has no action (copy_to or tag)");
  }
  return rule;
}

}  // namespace

RuleSet RuleSet::parse(std::string_view json, const std::string& source) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto err = parser.parse(json.data(), json.size()).get(root); err != simdjson::SUCCESS) {
    throw RuleError("", std::string("not valid JSON: ") + simdjson::error_message(err), source);
  }
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    throw RuleError("", "expected an object {\"rules\": [...]}", source);
  }
  RuleSet set;
  bool have_rules = false;
  try {
    for (auto [key, value] : top) {
      if (key != "rules") throw RuleError("", "unknown key " + in_quotes(key) + " (the file holds \"rules\")");
      simdjson::dom::array list;
      if (value.get_array().get(list) != simdjson::SUCCESS) throw RuleError("rules", "expected an array of rules");
      have_rules = true;
      std::size_t i = 0;
      for (simdjson::dom::element spec : list) {
        const std::string where = "rules[" + std::to_string(i++) + "]";
        Rule rule = compile_rule(spec, where);
        if (set.find(rule.name) != set.size()) throw RuleError(where + ".name", "duplicate rule name " + in_quotes(rule.name));
        for (const std::string& t : rule.copy_to) {
          if (std::find(set.targets_.begin(), set.targets_.end(), t) == set.targets_.end()) set.targets_.push_back(t);
        }
        set.rules_.push_back(std::move(rule));
      }
    }
    if (!have_rules) throw RuleError("", "no \"rules\" array");
  } catch (const RuleError& e) {
    if (!source.empty() && e.source().empty()) throw RuleError(e.where(), e.reason(), source);
    throw;
  }
  return set;
}

RuleSet RuleSet::load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuleError("", "cannot open the rules file", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw RuleError("", "cannot read the rules file", path.string());
  const std::string ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") return parse(yaml_to_json(text.str(), path.string()), path.string());
  return parse(text.str(), path.string());
}

std::size_t RuleSet::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].name == name) return i;
  }
  return rules_.size();
}

}  // namespace tradpal::routing
