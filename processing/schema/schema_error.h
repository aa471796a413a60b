// processing/schema/schema_error.h
//
// SchemaError: why a JSON Schema was refused at load. Thrown by
// Schema::compile and SchemaSet::load_directory, never by validation. It
// names the place in the schema document as a JSON Pointer (shown as a URI
// fragment, "#/properties/price/minimum"), and for a SchemaSet the file.
#pragma once

#include <stdexcept>
#include <string>

namespace tradpal::schema {

class SchemaError : public std::runtime_error {
 public:
  // `schema_path` is a JSON Pointer into the schema document ("" is the
  // root); `source` names where the document came from ("" for a string).
  SchemaError(std::string schema_path, std::string reason, std::string source = {});

  [[nodiscard]] const std::string& schema_path() const noexcept { return schema_path_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  std::string schema_path_;
  std::string reason_;
  std::string source_;
};

}  // namespace tradpal::schema
