#include "processing/routing/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <regex>

#include "engine/json.h"
#include "processing/routing/rule_error.h"

namespace tradpal::routing {
namespace {

std::string at(const YAML::Mark& m) {
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

bool plain_null(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

void write(const YAML::Node& node, std::string& out, const std::string& source) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: out += "null"; return;
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const YAML::Node& item : node) {
        if (!first) out += ", ";
        first = false;
        write(item, out, source);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) throw RuleError(at(kv.first.Mark()), "a mapping key must be a plain value", source);
        if (!first) out += ", ";
        first = false;
        append_quoted(out, kv.first.Scalar());
        out += ": ";
        write(kv.second, out, source);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Scalar: break;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") {  // quoted ("!") or explicitly tagged: a string
    append_quoted(out, s);
    return;
  }
  static const std::regex integer("[-+]?[0-9]+");
  static const std::regex decimal(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex special(R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (plain_null(s)) {
    out += "null";
  } else if (s == "true" || s == "True" || s == "TRUE") {
    out += "true";
  } else if (s == "false" || s == "False" || s == "FALSE") {
    out += "false";
  } else if (std::regex_match(s, integer) || std::regex_match(s, decimal)) {
    // JSON has no leading '+' and no bare '.5' or '5.': normalise.
    std::string n = s[0] == '+' ? s.substr(1) : s;
    const bool negative = !n.empty() && n[0] == '-';
    std::string body = negative ? n.substr(1) : n;
    if (!body.empty() && body[0] == '.') body.insert(0, "0");
    if (const auto dot = body.find('.'); dot != std::string::npos &&
                                         (dot + 1 == body.size() || body[dot + 1] == 'e' || body[dot + 1] == 'E')) {
      body.insert(dot + 1, "0");
    }
    // Leading zeros ("007") are not JSON: such a scalar stays a string.
    if (body.size() > 1 && body[0] == '0' && body[1] != '.' && body[1] != 'e' && body[1] != 'E') {
      append_quoted(out, s);
      return;
    }
    out += negative ? "-" + body : body;
  } else if (std::regex_match(s, special)) {
    throw RuleError(at(node.Mark()), "'" + s + "' has no JSON form", source);
  } else {
    append_quoted(out, s);
  }
}

}  // namespace

std::string yaml_to_json(std::string_view yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw RuleError(at(e.mark), "not valid YAML: " + e.msg, source);
  }
  std::string out;
  write(root, out, source);
  return out;
}

}  // namespace tradpal::routing
