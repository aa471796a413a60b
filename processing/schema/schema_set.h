// processing/schema/schema_set.h
//
// SchemaSet: one Schema per event type, loaded from a directory that holds
// `<event_type>.json` files (other files are ignored). Loading is all or
// nothing: one file that cannot be read or compiled refuses the whole set,
// with the file name in the SchemaError. Immutable once loaded; any thread
// may look up and validate concurrently.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "processing/schema/schema.h"

namespace tradpal::schema {

class SchemaSet {
 public:
  // Throws SchemaError (source = the file's name) or, when the directory
  // cannot be listed, std::filesystem::filesystem_error.
  [[nodiscard]] static SchemaSet load_directory(const std::filesystem::path& directory);

  void add(std::string event_type, Schema schema);

  // nullptr when no schema was given for this event type. The pointer
  // lives as long as the set.
  [[nodiscard]] const Schema* find(std::string_view event_type) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return schemas_.size(); }

 private:
  std::map<std::string, Schema, std::less<>> schemas_;
};

}  // namespace tradpal::schema
