#include "processing/routing/routed_event.h"

#include <new>

namespace tradpal::routing {

const simdjson::dom::element* EventDocuments::parse(Doc& doc, std::string_view text, std::size_t capacity) noexcept {
  if (doc.state == Doc::ok) return &doc.root;
  if (doc.state == Doc::failed) return nullptr;
  doc.state = Doc::failed;
  const char* at = text.data();
  if (capacity < text.size() + simdjson::SIMDJSON_PADDING) {
    // Not padded where it stands (a Redis reply, a caller's string): copy
    // into our buffer, which keeps its size for the next event.
    try {
      if (doc.buffer.size() < text.size() + simdjson::SIMDJSON_PADDING) {
        doc.buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
      }
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    doc.buffer.replace(0, text.size(), text);
    at = doc.buffer.data();
  }
  if (doc.parser.parse(reinterpret_cast<const std::uint8_t*>(at), text.size(), false).get(doc.root) !=
      simdjson::SUCCESS) {
    return nullptr;
  }
  doc.state = Doc::ok;
  return &doc.root;
}

}  // namespace tradpal::routing
