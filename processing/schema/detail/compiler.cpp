// processing/schema/detail/compiler.cpp
#include "processing/schema/detail/compiler.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "processing/schema/detail/ecma_regex.h"
#include "processing/schema/detail/json_pointer.h"
#include "processing/schema/schema_error.h"

namespace tradpal::schema::detail {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::string_view kDraft07 = "http://json-schema.org/draft-07/schema";

std::string join(const std::string& path, std::string_view token) {
  std::string out = path;
  out += '/';
  append_pointer_token(out, token);
  return out;
}

std::string join(const std::string& path, std::size_t index) { return path + '/' + std::to_string(index); }

bool is_number(element_type t) noexcept {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

std::uint8_t type_bit(std::string_view name) noexcept {
  if (name == "null") return kTypeNull;
  if (name == "boolean") return kTypeBoolean;
  if (name == "object") return kTypeObject;
  if (name == "array") return kTypeArray;
  if (name == "number") return kTypeNumber;
  if (name == "string") return kTypeString;
  if (name == "integer") return kTypeInteger;
  return 0;
}

class Compiler {
 public:
  explicit Compiler(CompiledSchema& out) : out_(out) {}

  void run(std::string_view json) {
    simdjson::dom::parser parser;
    element root;
    const simdjson::error_code error =
        parser.parse_into_document(out_.document, reinterpret_cast<const std::uint8_t*>(json.data()), json.size())
            .get(root);
    if (error != simdjson::SUCCESS) {
      throw SchemaError("", std::string("the schema is not valid JSON: ") + simdjson::error_message(error));
    }
    root_ = root;
    read_root_id(root);
    out_.root = compile(root, "");
    // Resolving a ref may compile a target no keyword reached, which may
    // hold refs of its own: drain until none is left.
    while (!pending_.empty()) {
      PendingRef ref = std::move(pending_.back());
      pending_.pop_back();
      out_.nodes[ref.node].ref = resolve(ref);
    }
    refuse_ref_cycles();
  }

 private:
  struct PendingRef {
    NodeIndex node;
    std::vector<std::string> tokens;
    std::string path;  // of the $ref keyword, for errors
    std::string text;
  };

  [[noreturn]] static void refuse(const std::string& path, std::string reason) {
    throw SchemaError(path, std::move(reason));
  }

  void read_root_id(element root) {
    simdjson::dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) return;
    element id;
    if (object.at_key("$id").get(id) != simdjson::SUCCESS) return;
    std::string_view text;
    if (id.get_string().get(text) != simdjson::SUCCESS) refuse("/$id", "must be a string");
    const std::size_t hash = text.find('#');
    if (hash != std::string_view::npos && hash + 1 != text.size()) {
      refuse("/$id", "a fragment in $id (a plain-name anchor) is not supported");
    }
    root_id_ = std::string(text.substr(0, hash));
  }

  NodeIndex compile(element e, const std::string& path) {
    if (const auto found = by_path_.find(path); found != by_path_.end()) return found->second;
    const auto index = static_cast<NodeIndex>(out_.nodes.size());
    out_.nodes.emplace_back();
    by_path_.emplace(path, index);
    // Children are compiled into the vector while this node is filled, so
    // it is built aside and moved into its slot at the end.
    Node node;
    node.path = path;
    switch (e.type()) {
      case element_type::BOOL:
        node.always_false = !e.get_bool().value_unsafe();
        break;
      case element_type::OBJECT: {
        const simdjson::dom::object members = e.get_object().value_unsafe();
        for (const simdjson::dom::key_value_pair member : members) {
          keyword(node, index, member.key, member.value, join(path, member.key));
        }
        break;
      }
      default:
        refuse(path, "a schema must be an object or a boolean");
    }
    node.finish();
    out_.nodes[index] = std::move(node);
    return index;
  }

  NodeIndex subschema(element e, const std::string& path) {
    if (e.type() != element_type::OBJECT && e.type() != element_type::BOOL) {
      refuse(path, "must be a schema (an object or a boolean)");
    }
    return compile(e, path);
  }

  std::vector<NodeIndex> schema_array(element e, const std::string& path) {
    simdjson::dom::array array;
    if (e.get_array().get(array) != simdjson::SUCCESS || array.size() == 0) {
      refuse(path, "must be a non-empty array of schemas");
    }
    std::vector<NodeIndex> out;
    for (element item : array) out.push_back(subschema(item, join(path, out.size())));
    return out;
  }

  static std::uint64_t count(element e, const std::string& path) {
    switch (e.type()) {
      case element_type::INT64:
        if (e.get_int64().value_unsafe() >= 0) return static_cast<std::uint64_t>(e.get_int64().value_unsafe());
        break;
      case element_type::UINT64:
        return e.get_uint64().value_unsafe();
      case element_type::DOUBLE: {
        // Draft-07 allows 2.0 where an integer is wanted.
        const JsonNumber n = JsonNumber::from(e);
        if (n.d >= 0 && n.d < 18446744073709551616.0 && is_integral(n)) return static_cast<std::uint64_t>(n.d);
        break;
      }
      default:
        break;
    }
    refuse(path, "must be a non-negative integer");
  }

  static JsonNumber number(element e, const std::string& path) {
    if (!is_number(e.type())) refuse(path, "must be a number");
    return JsonNumber::from(e);
  }

  static std::vector<std::string> unique_strings(element e, const std::string& path) {
    simdjson::dom::array array;
    if (e.get_array().get(array) != simdjson::SUCCESS) refuse(path, "must be an array of unique strings");
    std::vector<std::string> out;
    for (element item : array) {
      std::string_view text;
      if (item.get_string().get(text) != simdjson::SUCCESS) refuse(path, "must be an array of unique strings");
      if (std::find(out.begin(), out.end(), text) != out.end()) {
        refuse(path, "must be an array of unique strings ('" + std::string(text) + "' repeats)");
      }
      out.emplace_back(text);
    }
    return out;
  }

  static simdjson::dom::object object_of(element e, const std::string& path, const char* what) {
    simdjson::dom::object object;
    if (e.get_object().get(object) != simdjson::SUCCESS) refuse(path, std::string("must be an object of ") + what);
    return object;
  }

  static Regex regex(std::string_view source, const std::string& path) {
    RegexTranslation translation = translate_ecma_regex(source);
    if (!translation.error.empty()) {
      refuse(path, "regex '" + std::string(source) + "' cannot be used: " + translation.error);
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_encoding(RE2::Options::EncodingUTF8);
    auto re2 = std::make_unique<RE2>(translation.re2, options);
    if (!re2->ok()) refuse(path, "regex '" + std::string(source) + "' is invalid: " + re2->error());
    return Regex{std::string(source), std::move(re2)};
  }

  static void expect_string(element e, const std::string& path) {
    if (e.type() != element_type::STRING) refuse(path, "must be a string");
  }

  void keyword(Node& node, NodeIndex index, std::string_view key, element v, const std::string& path) {
    // Annotations: checked for shape, then ignored, as draft-07 allows.
    // `format` is one too: draft-07 makes its assertion optional.
    if (key == "title" || key == "description" || key == "$comment" || key == "format" || key == "contentMediaType" ||
        key == "contentEncoding") {
      expect_string(v, path);
    } else if (key == "default") {
    } else if (key == "examples") {
      if (v.type() != element_type::ARRAY) refuse(path, "must be an array");
    } else if (key == "readOnly" || key == "writeOnly") {
      if (v.type() != element_type::BOOL) refuse(path, "must be a boolean");
    } else if (key == "$schema") {
      std::string_view uri;
      if (v.get_string().get(uri) != simdjson::SUCCESS) refuse(path, "must be a string");
      if (uri.ends_with('#')) uri.remove_suffix(1);
      if (uri != kDraft07) refuse(path, "only draft-07 (" + std::string(kDraft07) + "#) is supported");
    } else if (key == "$id") {
      // The root's $id was read before compiling; elsewhere it would
      // change the base URI of the refs below it, which is out of scope.
      if (node.path != "") refuse(path, "$id in a subschema (a base URI change) is not supported");
    } else if (key == "$ref") {
      ref(index, v, path);
    } else if (key == "definitions") {
      for (const simdjson::dom::key_value_pair member : object_of(v, path, "schemas")) {
        subschema(member.value, join(path, member.key));
      }
    } else if (key == "type") {
      type(node, v, path);
    } else if (key == "enum") {
      simdjson::dom::array values;
      if (v.get_array().get(values) != simdjson::SUCCESS) refuse(path, "must be an array");
      node.has_enum = true;
      for (element value : values) node.enum_values.push_back(value);
    } else if (key == "const") {
      node.const_value = v;
    } else if (key == "multipleOf") {
      const JsonNumber divisor = number(v, path);
      if (compare(divisor, JsonNumber{}) <= 0) refuse(path, "must be a number greater than 0");
      node.multiple_of = divisor;
    } else if (key == "maximum") {
      node.maximum = number(v, path);
    } else if (key == "exclusiveMaximum") {
      node.exclusive_maximum = number(v, path);
    } else if (key == "minimum") {
      node.minimum = number(v, path);
    } else if (key == "exclusiveMinimum") {
      node.exclusive_minimum = number(v, path);
    } else if (key == "maxLength") {
      node.max_length = count(v, path);
    } else if (key == "minLength") {
      node.min_length = count(v, path);
    } else if (key == "pattern") {
      std::string_view source;
      if (v.get_string().get(source) != simdjson::SUCCESS) refuse(path, "must be a string");
      node.pattern = regex(source, path);
    } else if (key == "items") {
      if (v.type() == element_type::ARRAY) {
        node.items_is_tuple = true;
        const simdjson::dom::array items = v.get_array().value_unsafe();
        if (items.size() == 0) refuse(path, "must be a schema or a non-empty array of schemas");
        for (element item : items) node.tuple_items.push_back(subschema(item, join(path, node.tuple_items.size())));
      } else {
        node.items = subschema(v, path);
      }
    } else if (key == "additionalItems") {
      node.additional_items = subschema(v, path);
    } else if (key == "maxItems") {
      node.max_items = count(v, path);
    } else if (key == "minItems") {
      node.min_items = count(v, path);
    } else if (key == "uniqueItems") {
      if (v.type() != element_type::BOOL) refuse(path, "must be a boolean");
      node.unique_items = v.get_bool().value_unsafe();
    } else if (key == "contains") {
      node.contains = subschema(v, path);
    } else if (key == "maxProperties") {
      node.max_properties = count(v, path);
    } else if (key == "minProperties") {
      node.min_properties = count(v, path);
    } else if (key == "required") {
      node.required = unique_strings(v, path);
    } else if (key == "properties") {
      for (const simdjson::dom::key_value_pair member : object_of(v, path, "schemas")) {
        node.properties.push_back({std::string(member.key), subschema(member.value, join(path, member.key))});
      }
      std::sort(node.properties.begin(), node.properties.end(),
                [](const PropertyRule& a, const PropertyRule& b) { return a.name < b.name; });
    } else if (key == "patternProperties") {
      for (const simdjson::dom::key_value_pair member : object_of(v, path, "schemas")) {
        const std::string member_path = join(path, member.key);
        Regex re = regex(member.key, member_path);
        node.pattern_properties.push_back({std::move(re), subschema(member.value, member_path)});
      }
    } else if (key == "additionalProperties") {
      node.additional_properties = subschema(v, path);
    } else if (key == "dependencies") {
      for (const simdjson::dom::key_value_pair member : object_of(v, path, "schemas or property lists")) {
        const std::string member_path = join(path, member.key);
        Dependency dependency;
        dependency.name = std::string(member.key);
        if (member.value.type() == element_type::ARRAY) {
          dependency.required = unique_strings(member.value, member_path);
        } else {
          dependency.node = subschema(member.value, member_path);
        }
        node.dependencies.push_back(std::move(dependency));
      }
    } else if (key == "propertyNames") {
      node.property_names = subschema(v, path);
    } else if (key == "if") {
      node.if_schema = subschema(v, path);
    } else if (key == "then") {
      node.then_schema = subschema(v, path);
    } else if (key == "else") {
      node.else_schema = subschema(v, path);
    } else if (key == "allOf") {
      node.all_of = schema_array(v, path);
    } else if (key == "anyOf") {
      node.any_of = schema_array(v, path);
    } else if (key == "oneOf") {
      node.one_of = schema_array(v, path);
    } else if (key == "not") {
      node.not_schema = subschema(v, path);
    } else {
      refuse(path, "unknown or unsupported keyword '" + std::string(key) + "'");
    }
  }

  static void type(Node& node, element v, const std::string& path) {
    const auto add = [&](element name) {
      std::string_view text;
      if (name.get_string().get(text) != simdjson::SUCCESS) refuse(path, "must be a type name or an array of them");
      const std::uint8_t bit = type_bit(text);
      if (bit == 0) refuse(path, "unknown type '" + std::string(text) + "'");
      if ((node.types & bit) != 0) refuse(path, "type '" + std::string(text) + "' repeats");
      node.types |= bit;
    };
    if (v.type() == element_type::ARRAY) {
      const simdjson::dom::array names = v.get_array().value_unsafe();
      for (element name : names) add(name);
      if (node.types == 0) refuse(path, "must name at least one type");
    } else {
      add(v);
    }
  }

  void ref(NodeIndex index, element v, const std::string& path) {
    std::string_view text;
    if (v.get_string().get(text) != simdjson::SUCCESS) refuse(path, "must be a string");
    std::string_view fragment;
    if (text.starts_with('#')) {
      fragment = text.substr(1);
    } else if (!root_id_.empty() && text.starts_with(root_id_) &&
               (text.size() == root_id_.size() || text[root_id_.size()] == '#')) {
      // The root's own URI: the same document.
      fragment = text.substr(std::min(text.size(), root_id_.size() + 1));
    } else {
      refuse(path, "'" + std::string(text) +
                       "' is not a reference within this document ('#...'): remote and $id-relative "
                       "references are not supported");
    }
    std::optional<std::vector<std::string>> tokens = parse_fragment_pointer(fragment);
    if (!tokens) {
      refuse(path,
             "'" + std::string(text) + "' is not a JSON Pointer fragment (plain-name fragments are not supported)");
    }
    pending_.push_back({index, std::move(*tokens), path, std::string(text)});
  }

  NodeIndex resolve(const PendingRef& ref) {
    element target = root_;
    std::string target_path;
    for (const std::string& token : ref.tokens) {
      bool found = false;
      if (target.type() == element_type::OBJECT) {
        found = target.get_object().value_unsafe().at_key(token).get(target) == simdjson::SUCCESS;
      } else if (target.type() == element_type::ARRAY) {
        const bool digits = !token.empty() &&
                            std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                            (token.size() == 1 || token[0] != '0');
        found = digits && token.size() < 10 &&
                target.get_array().value_unsafe().at(std::stoul(token)).get(target) == simdjson::SUCCESS;
      }
      if (!found) refuse(ref.path, "'" + ref.text + "' points to nothing in this document");
      target_path = join(target_path, token);
    }
    if (target.type() != element_type::OBJECT && target.type() != element_type::BOOL) {
      refuse(ref.path, "'" + ref.text + "' points to a value that is not a schema");
    }
    return compile(target, target_path);
  }

  // A chain of refs and in-place applicators (allOf, anyOf, oneOf, not,
  // if/then/else, schema dependencies) that leads back to where it started
  // would apply a schema to the same value forever. Refs through
  // properties or items are fine: each step descends into the instance.
  void refuse_ref_cycles() {
    std::vector<std::uint8_t> state(out_.nodes.size(), 0);  // 0 new, 1 on the path, 2 done
    for (NodeIndex i = 0; i < out_.nodes.size(); ++i) visit(i, state);
  }

  void visit(NodeIndex i, std::vector<std::uint8_t>& state) {
    if (state[i] == 2) return;
    if (state[i] == 1) {
      refuse(out_.nodes[i].path, "$ref cycle: this schema applies itself to the same value without descending into it");
    }
    state[i] = 1;
    const Node& node = out_.nodes[i];
    const auto edge = [&](NodeIndex next) {
      if (next != kNoNode) visit(next, state);
    };
    if (node.ref != kNoNode) {
      edge(node.ref);
    } else {
      for (const NodeIndex next : node.all_of) edge(next);
      for (const NodeIndex next : node.any_of) edge(next);
      for (const NodeIndex next : node.one_of) edge(next);
      edge(node.not_schema);
      edge(node.if_schema);
      edge(node.then_schema);
      edge(node.else_schema);
      for (const Dependency& dependency : node.dependencies) edge(dependency.node);
    }
    state[i] = 2;
  }

  CompiledSchema& out_;
  element root_;
  std::string root_id_;
  std::unordered_map<std::string, NodeIndex> by_path_;
  std::vector<PendingRef> pending_;
};

}  // namespace

std::shared_ptr<const CompiledSchema> compile_schema(std::string_view schema_json) {
  auto compiled = std::make_shared<CompiledSchema>();
  Compiler(*compiled).run(schema_json);
  return compiled;
}

}  // namespace tradpal::schema::detail
