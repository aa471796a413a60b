#include "tools/eventd/body_validation.h"

#include "adapters/http/json_writer.h"
#include "adapters/http/response.h"
#include "engine/json.h"
#include "engine/detail/json_value.h"

namespace tradpal::eventd {
namespace {

std::string body_loc(std::string_view key) { return "[\"body\"," + http::json_quote(key) + "]"; }

}  // namespace

std::string validation_detail(const std::vector<FieldError>& errors) {
  http::JsonWriter w;
  w.begin_object().key("detail").begin_array();
  for (const FieldError& e : errors) {
    w.begin_object().key("loc").raw(e.loc).key("msg").string(e.msg).key("type").string(e.type);
    if (!e.ctx.empty()) w.key("ctx").raw(e.ctx);
    w.end_object();
  }
  w.end_array().end_object();
  return std::move(w).take();
}

bool JsonBody::parse(std::string_view body, std::vector<FieldError>& errors) {
  thread_local simdjson::ondemand::parser parser;
  fields_.clear();
  padded_ = simdjson::padded_string(body);
  const auto not_json = [&](std::string_view why) {
    errors.push_back({"[\"body\"]", "Invalid JSON body: " + std::string(why), "value_error.jsondecode", {}});
    return false;
  };
  if (trim_json(body).empty()) {
    errors.push_back({"[\"body\"]", "field required", "value_error.missing", {}});
    return false;
  }
  simdjson::ondemand::document doc;
  if (auto err = parser.iterate(padded_).get(doc)) return not_json(simdjson::error_message(err));
  {
    simdjson::ondemand::value root;
    if (doc.get_value().get(root) || !tradpal::detail::is_valid_json_value(root) || !fully_consumed(doc)) {
      return not_json("the body is not valid JSON");
    }
    doc.rewind();
  }
  simdjson::ondemand::json_type root_type;
  if (doc.type().get(root_type)) return not_json("the body is not valid JSON");
  if (root_type != simdjson::ondemand::json_type::object) {
    errors.push_back({"[\"body\"]", "value is not a valid dict", "type_error.dict", {}});
    return false;
  }
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return not_json("the body is not valid JSON");
  for (auto field : obj) {
    std::string_view key;
    simdjson::ondemand::value value;
    simdjson::ondemand::json_type type;
    if (field.unescaped_key().get(key) || field.value().get(value) || value.type().get(type)) {
      return not_json("the body is not valid JSON");
    }
    Field f{type, {}};
    if (type == simdjson::ondemand::json_type::string) {
      std::string_view s;
      if (value.get_string().get(s)) return not_json("bad string");
      f.text.assign(s);
    } else if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object inner;
      std::string_view raw;
      if (value.get_object().get(inner) || inner.raw_json().get(raw)) return not_json("bad object");
      f.text.assign(raw);
    }
    // json.loads keeps the last of duplicate keys; so do we.
    fields_.insert_or_assign(std::string(key), std::move(f));
  }
  return true;
}

std::optional<std::string> JsonBody::string_field(std::string_view key, std::optional<std::string_view> fallback,
                                                  std::vector<FieldError>& errors) const {
  const auto it = fields_.find(key);
  if (it == fields_.end()) {
    if (fallback) return std::string(*fallback);
    errors.push_back({body_loc(key), "field required", "value_error.missing", {}});
    return std::nullopt;
  }
  if (it->second.type == simdjson::ondemand::json_type::null) {
    errors.push_back({body_loc(key), "none is not an allowed value", "type_error.none.not_allowed", {}});
    return std::nullopt;
  }
  if (it->second.type != simdjson::ondemand::json_type::string) {
    errors.push_back({body_loc(key), "str type expected", "type_error.str", {}});
    return std::nullopt;
  }
  return it->second.text;
}

std::optional<std::string_view> JsonBody::object_field(std::string_view key, std::optional<std::string_view> fallback,
                                                       std::vector<FieldError>& errors) const {
  const auto it = fields_.find(key);
  if (it == fields_.end()) {
    if (fallback) return *fallback;
    errors.push_back({body_loc(key), "field required", "value_error.missing", {}});
    return std::nullopt;
  }
  if (it->second.type != simdjson::ondemand::json_type::object) {
    errors.push_back({body_loc(key), "value is not a valid dict", "type_error.dict", {}});
    return std::nullopt;
  }
  return std::string_view(it->second.text);
}

}  // namespace tradpal::eventd
