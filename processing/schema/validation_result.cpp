// processing/schema/validation_result.cpp
#include "processing/schema/validation_result.h"

#include "processing/schema/detail/json_pointer.h"

namespace tradpal::schema {

std::string ValidationError::pointer() const {
  std::string out;
  for (const PathSegment& segment : instance_path) {
    out += '/';
    if (const auto* key = std::get_if<std::string>(&segment)) {
      detail::append_pointer_token(out, *key);
    } else {
      out += std::to_string(std::get<std::uint64_t>(segment));
    }
  }
  return out;
}

std::string ValidationError::to_string() const {
  std::string out = instance_path.empty() ? std::string("(root)") : pointer();
  out += ": ";
  out += message;
  return out;
}

}  // namespace tradpal::schema
