// processing/schema/schema_set.cpp
#include "processing/schema/schema_set.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

namespace tradpal::schema {

SchemaSet SchemaSet::load_directory(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> files;
  for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  // Sorted, so that of several bad files the same one is named every time.
  std::sort(files.begin(), files.end());
  SchemaSet set;
  for (const std::filesystem::path& file : files) {
    const std::string name = file.filename().string();
    std::ifstream in(file, std::ios::binary);
    if (!in.is_open()) throw SchemaError("", "cannot open the file", name);
    std::ostringstream text;
    text << in.rdbuf();
    try {
      set.add(file.stem().string(), Schema::compile(text.str()));
    } catch (const SchemaError& e) {
      throw SchemaError(e.schema_path(), e.reason(), name);
    }
  }
  return set;
}

void SchemaSet::add(std::string event_type, Schema schema) {
  schemas_.insert_or_assign(std::move(event_type), std::move(schema));
}

const Schema* SchemaSet::find(std::string_view event_type) const noexcept {
  const auto found = schemas_.find(event_type);
  return found == schemas_.end() ? nullptr : &found->second;
}

}  // namespace tradpal::schema
