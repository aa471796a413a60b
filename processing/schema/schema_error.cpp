// processing/schema/schema_error.cpp
#include "processing/schema/schema_error.h"

#include <utility>

namespace tradpal::schema {
namespace {

std::string describe(const std::string& path, const std::string& reason, const std::string& source) {
  std::string out;
  if (!source.empty()) {
    out += source;
    out += ": ";
  }
  out += "schema refused at #";
  out += path;
  out += ": ";
  out += reason;
  return out;
}

}  // namespace

SchemaError::SchemaError(std::string schema_path, std::string reason, std::string source)
    : std::runtime_error(describe(schema_path, reason, source)),
      schema_path_(std::move(schema_path)),
      reason_(std::move(reason)),
      source_(std::move(source)) {}

}  // namespace tradpal::schema
