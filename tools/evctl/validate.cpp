#include "tools/evctl/validate.h"

#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "engine/event_type.h"
#include "engine/json.h"
#include "processing/schema/schema_set.h"

namespace tradpal::evctl {
namespace {

struct Failure {
  std::size_t line = 0;
  std::string type;
  std::string pointer;  // into data
  std::string message;
  std::string schema_path;
};

void print(const Failure& f, Format format) {
  if (format == Format::json) {
    std::string out = "{\"line\": " + std::to_string(f.line) + ", \"event_type\": ";
    append_quoted(out, f.type);
    out += ", \"valid\": false, \"path\": ";
    append_quoted(out, f.pointer);
    out += ", \"message\": ";
    append_quoted(out, f.message);
    out += ", \"schema_path\": ";
    append_quoted(out, f.schema_path);
    out += "}\n";
    std::fputs(out.c_str(), stdout);
  } else {
    std::printf("line %zu: %s: %s%s%s%s\n", f.line, f.type.empty() ? "(no type)" : f.type.c_str(),
                f.pointer.empty() ? "" : ("data" + f.pointer + ": ").c_str(), f.message.c_str(),
                f.schema_path.empty() ? "" : "  [schema ", f.schema_path.empty() ? "" : (f.schema_path + "]").c_str());
  }
}

}  // namespace

int validate_file(const std::string& path, const std::string& schemas_dir, Format format) {
  schema::SchemaSet schemas;
  try {
    schemas = schema::SchemaSet::load_directory(schemas_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "evctl: --schemas %s: %s\n", schemas_dir.c_str(), e.what());
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) {
      std::fprintf(stderr, "evctl: cannot read %s\n", path.c_str());
      return 2;
    }
    in = &file;
  }
  simdjson::dom::parser parser;
  simdjson::dom::parser data_parser;
  std::size_t line_no = 0, checked = 0, failed = 0, without_schema = 0;
  for (std::string line; std::getline(*in, line);) {
    ++line_no;
    if (trim_json(line).empty()) continue;
    ++checked;
    Failure f;
    f.line = line_no;
    simdjson::dom::element event;
    std::string_view type;
    simdjson::dom::element data;
    if (parser.parse(line).get(event) != simdjson::SUCCESS || !event.is_object()) {
      f.message = "not a JSON object";
    } else if (event["event_type"].get(type) != simdjson::SUCCESS || !parse_event_type(type)) {
      f.message = "no known event_type";
    } else {
      f.type = type;
      const schema::Schema* s = schemas.find(type);
      if (s == nullptr) {
        ++without_schema;
        continue;
      }
      // Without data an event's data is {} (as eventd makes it).
      const schema::ValidationResult r = event["data"].get(data) == simdjson::SUCCESS
                                             ? s->validate(data)
                                             : s->validate_json(std::string_view("{}"), data_parser);
      if (r.ok()) continue;
      f.pointer = r.error().pointer();
      f.message = r.error().message;
      f.schema_path = r.error().schema_path;
    }
    ++failed;
    print(f, format);
  }
  if (format == Format::json) {
    std::printf("{\"checked\": %zu, \"invalid\": %zu, \"without_schema\": %zu}\n", checked, failed, without_schema);
  } else {
    std::printf("%zu events checked: %zu invalid, %zu of a type without a schema\n", checked, failed,
                without_schema);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace tradpal::evctl
