#include "processing/routing/condition.h"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

#include "engine/event_type.h"
#include "processing/routing/rule_error.h"

namespace tradpal::routing {
namespace {

enum class Field { type, source, event_id, data, metadata };
enum class Op { eq, ne, lt, lte, gt, gte, in, regex, exists };

struct Scalar {
  enum Kind { null, boolean, number, string } kind = null;
  bool b = false;
  double n = 0;
  std::string s;
};

constexpr std::pair<std::string_view, Op> kOps[] = {
    {"eq", Op::eq}, {"ne", Op::ne},   {"lt", Op::lt}, {"lte", Op::lte},       {"gt", Op::gt},
    {"gte", Op::gte}, {"in", Op::in}, {"regex", Op::regex}, {"exists", Op::exists},
};

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// What a leaf compares: absent, a text field of the event, or a JSON value.
struct Value {
  enum Kind { missing, text, json } kind = missing;
  std::string_view str;
  simdjson::dom::element el;
};

Scalar scalar_of(simdjson::dom::element e, const std::string& where) {
  Scalar s;
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: s.kind = Scalar::null; break;
    case simdjson::dom::element_type::BOOL:
      s.kind = Scalar::boolean;
      s.b = e.get_bool().value_unsafe();
      break;
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      s.kind = Scalar::number;
      s.n = e.get_double().value_unsafe();
      break;
    case simdjson::dom::element_type::STRING:
      s.kind = Scalar::string;
      s.s = std::string(e.get_string().value_unsafe());
      break;
    default: throw RuleError(where, "expected a string, number, boolean or null, not an object or array");
  }
  return s;
}

// -1, 0, 1, or 2 when the two cannot be ordered (kinds differ).
int order(const Value& v, const Scalar& s) noexcept {
  if (v.kind == Value::text) {
    if (s.kind != Scalar::string) return 2;
    const int c = v.str.compare(s.s);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  using T = simdjson::dom::element_type;
  switch (v.el.type()) {
    case T::STRING: {
      if (s.kind != Scalar::string) return 2;
      const int c = v.el.get_string().value_unsafe().compare(s.s);
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: {
      if (s.kind != Scalar::number) return 2;
      const double d = v.el.get_double().value_unsafe();
      return d < s.n ? -1 : d > s.n ? 1 : d == s.n ? 0 : 2;  // NaN orders with nothing
    }
    case T::BOOL:
      if (s.kind != Scalar::boolean) return 2;
      return v.el.get_bool().value_unsafe() == s.b ? 0 : 2;
    case T::NULL_VALUE: return s.kind == Scalar::null ? 0 : 2;
    default: return 2;
  }
}

bool equal(const Value& v, const Scalar& s) noexcept { return order(v, s) == 0; }

bool is_index(std::string_view key, std::size_t& index) noexcept {
  if (key.empty() || (key.size() > 1 && key[0] == '0')) return false;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
  return ec == std::errc() && end == key.data() + key.size();
}

}  // namespace

struct Condition::Node {
  enum Kind { all, any, negate, leaf } kind = leaf;
  std::vector<std::uint32_t> children;
  Field field = Field::type;
  std::vector<std::string> path;  // inside data or metadata
  Op op = Op::eq;
  std::vector<Scalar> operands;
  std::unique_ptr<re2::RE2> re;
  bool exists = true;
};

Condition::Condition() = default;
Condition::Condition(Condition&&) noexcept = default;
Condition& Condition::operator=(Condition&&) noexcept = default;
Condition::~Condition() = default;

// Parses "data.a.b" or "/data/a~1b" into the field and the path inside it.
static void parse_field(std::string_view text, Field& field, std::vector<std::string>& path, const std::string& where) {
  std::vector<std::string> parts;
  if (!text.empty() && text[0] == '/') {
    std::size_t at = 1;
    for (;;) {
      const std::size_t slash = text.find('/', at);
      const std::string_view raw = text.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
      std::string part;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
          part += raw[i + 1] == '0' ? '~' : '/';
          ++i;
        } else if (raw[i] == '~') {
          throw RuleError(where, "bad JSON Pointer escape in " + in_quotes(text) + " (use ~0 for ~ and ~1 for /)");
        } else {
          part += raw[i];
        }
      }
      parts.push_back(std::move(part));
      if (slash == std::string_view::npos) break;
      at = slash + 1;
    }
  } else {
    std::size_t at = 0;
    for (;;) {
      const std::size_t dot = text.find('.', at);
      parts.emplace_back(text.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at));
      if (dot == std::string_view::npos) break;
      at = dot + 1;
    }
    for (const std::string& p : parts) {
      if (p.empty()) throw RuleError(where, "empty key in field " + in_quotes(text));
    }
  }
  const std::string& head = parts.front();
  if (head == "type" || head == "source" || head == "event_id") {
    if (parts.size() > 1) throw RuleError(where, "field " + in_quotes(text) + ": " + head + " is a string, it has no keys");
    field = head == "type" ? Field::type : head == "source" ? Field::source : Field::event_id;
  } else if (head == "data" || head == "metadata") {
    field = head == "data" ? Field::data : Field::metadata;
  } else {
    throw RuleError(where, "unknown field " + in_quotes(text) +
                               " (expected type, source, event_id, data[.key...] or metadata[.key...])");
  }
  path.assign(parts.begin() + 1, parts.end());
}

static std::uint32_t compile_node(std::vector<Condition::Node>& nodes, simdjson::dom::element spec,
                                  const std::string& where) {
  simdjson::dom::object obj;
  if (spec.get_object().get(obj) != simdjson::SUCCESS) throw RuleError(where, "a condition is a JSON object");
  const auto index = static_cast<std::uint32_t>(nodes.size());
  nodes.emplace_back();
  std::size_t members = 0;
  for (auto [k, v] : obj) {
    (void)k;
    (void)v;
    ++members;
  }
  simdjson::dom::element child;
  for (std::string_view combinator : {"all", "any"}) {
    if (obj.at_key(combinator).get(child) != simdjson::SUCCESS) continue;
    if (members != 1) throw RuleError(where, in_quotes(combinator) + " stands alone in its condition object");
    simdjson::dom::array items;
    if (child.get_array().get(items) != simdjson::SUCCESS || items.size() == 0) {
      throw RuleError(where + "." + std::string(combinator), "expected a non-empty array of conditions");
    }
    nodes[index].kind = combinator == "all" ? Condition::Node::all : Condition::Node::any;
    std::size_t i = 0;
    for (simdjson::dom::element item : items) {
      const std::uint32_t c =
          compile_node(nodes, item, where + "." + std::string(combinator) + "[" + std::to_string(i++) + "]");
      nodes[index].children.push_back(c);
    }
    return index;
  }
  if (obj.at_key("not").get(child) == simdjson::SUCCESS) {
    if (members != 1) throw RuleError(where, "'not' stands alone in its condition object");
    nodes[index].kind = Condition::Node::negate;
    const std::uint32_t c = compile_node(nodes, child, where + ".not");
    nodes[index].children.push_back(c);
    return index;
  }
  // A leaf: "field" and one operator.
  std::string_view field_text;
  if (obj.at_key("field").get(child) != simdjson::SUCCESS) {
    throw RuleError(where, "expected all, any, not, or a field with an operator");
  }
  if (child.get_string().get(field_text) != simdjson::SUCCESS || field_text.empty()) {
    throw RuleError(where + ".field", "expected a field name");
  }
  Condition::Node leaf;
  leaf.kind = Condition::Node::leaf;
  parse_field(field_text, leaf.field, leaf.path, where + ".field");
  bool have_op = false;
  for (auto [key, value] : obj) {
    if (key == "field") continue;
    const std::string_view name = key;  // (clang 14 cannot capture a structured binding)
    const auto op = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& p) { return p.first == name; });
    if (op == std::end(kOps)) {
      throw RuleError(where, "unknown key " + in_quotes(key) +
                                 " (operators: eq, ne, lt, lte, gt, gte, in, regex, exists; or all, any, not)");
    }
    if (have_op) throw RuleError(where, "one operator per condition (use all/any to combine)");
    have_op = true;
    leaf.op = op->second;
    const std::string at = where + "." + std::string(key);
    switch (leaf.op) {
      case Op::eq:
      case Op::ne: leaf.operands.push_back(scalar_of(value, at)); break;
      case Op::lt:
      case Op::lte:
      case Op::gt:
      case Op::gte: {
        Scalar s = scalar_of(value, at);
        if (s.kind != Scalar::number && s.kind != Scalar::string) throw RuleError(at, "expected a number or a string");
        leaf.operands.push_back(std::move(s));
        break;
      }
      case Op::in: {
        simdjson::dom::array items;
        if (value.get_array().get(items) != simdjson::SUCCESS || items.size() == 0) {
          throw RuleError(at, "expected a non-empty array");
        }
        std::size_t i = 0;
        for (simdjson::dom::element item : items) {
          leaf.operands.push_back(scalar_of(item, at + "[" + std::to_string(i++) + "]"));
        }
        break;
      }
      case Op::regex: {
        std::string_view pattern;
        if (value.get_string().get(pattern) != simdjson::SUCCESS) throw RuleError(at, "expected a pattern string");
        RE2::Options options;
        options.set_log_errors(false);
        leaf.re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
        if (!leaf.re->ok()) throw RuleError(at, "not an RE2 pattern: " + leaf.re->error());
        break;
      }
      case Op::exists:
        if (value.get_bool().get(leaf.exists) != simdjson::SUCCESS) throw RuleError(at, "expected true or false");
        break;
    }
  }
  if (!have_op) throw RuleError(where, "field " + in_quotes(field_text) + " without an operator");
  if (leaf.field == Field::type) {
    for (const Scalar& s : leaf.operands) {
      if (s.kind == Scalar::string && !parse_event_type(s.s)) {
        throw RuleError(where, in_quotes(s.s) + " is not an event type");
      }
    }
  }
  nodes[index] = std::move(leaf);
  return index;
}

Condition Condition::compile(simdjson::dom::element spec, const std::string& where) {
  Condition c;
  compile_node(c.nodes_, spec, where);
  return c;
}

bool Condition::reads_documents() const noexcept {
  return std::any_of(nodes_.begin(), nodes_.end(), [](const Node& n) {
    return n.kind == Node::leaf && (n.field == Field::data || n.field == Field::metadata);
  });
}

namespace {

Value lookup(const Condition::Node& leaf, EventDocuments& docs) noexcept {
  Value v;
  const RoutedEvent& e = docs.event();
  switch (leaf.field) {
    case Field::type: v.kind = Value::text, v.str = e.type; return v;
    case Field::source: v.kind = Value::text, v.str = e.source; return v;
    case Field::event_id: v.kind = Value::text, v.str = e.event_id; return v;
    case Field::data:
    case Field::metadata: break;
  }
  const simdjson::dom::element* root = leaf.field == Field::data ? docs.data() : docs.metadata();
  if (root == nullptr) return v;
  simdjson::dom::element at = *root;
  for (const std::string& key : leaf.path) {
    simdjson::dom::element next;
    if (at.is_object()) {
      if (at.get_object().value_unsafe().at_key(key).get(next) != simdjson::SUCCESS) return v;
    } else if (std::size_t i = 0; at.is_array() && is_index(key, i)) {
      if (at.get_array().value_unsafe().at(i).get(next) != simdjson::SUCCESS) return v;
    } else {
      return v;
    }
    at = next;
  }
  v.kind = Value::json;
  v.el = at;
  return v;
}

}  // namespace

static bool eval(const std::vector<Condition::Node>& nodes, std::uint32_t i, EventDocuments& docs) noexcept {
  const Condition::Node& n = nodes[i];
  switch (n.kind) {
    case Condition::Node::all:
      for (std::uint32_t c : n.children) {
        if (!eval(nodes, c, docs)) return false;
      }
      return true;
    case Condition::Node::any:
      for (std::uint32_t c : n.children) {
        if (eval(nodes, c, docs)) return true;
      }
      return false;
    case Condition::Node::negate: return !eval(nodes, n.children[0], docs);
    case Condition::Node::leaf: break;
  }
  const Value v = lookup(n, docs);
  if (n.op == Op::exists) return (v.kind != Value::missing) == n.exists;
  if (v.kind == Value::missing) return false;
  switch (n.op) {
    case Op::eq: return equal(v, n.operands[0]);
    case Op::ne: return !equal(v, n.operands[0]);
    case Op::lt: return order(v, n.operands[0]) == -1;
    case Op::lte: {
      const int o = order(v, n.operands[0]);
      return o == -1 || o == 0;
    }
    case Op::gt: return order(v, n.operands[0]) == 1;
    case Op::gte: {
      const int o = order(v, n.operands[0]);
      return o == 1 || o == 0;
    }
    case Op::in:
      return std::any_of(n.operands.begin(), n.operands.end(), [&](const Scalar& s) { return equal(v, s); });
    case Op::regex: {
      std::string_view s;
      if (v.kind == Value::text) {
        s = v.str;
      } else if (v.el.get_string().get(s) != simdjson::SUCCESS) {
        return false;
      }
      return re2::RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *n.re);
    }
    case Op::exists: break;
  }
  return false;
}

bool Condition::evaluate(EventDocuments& docs) const noexcept { return eval(nodes_, 0, docs); }

}  // namespace tradpal::routing
