// processing/routing/routed_event.h
//
// RoutedEvent: what a routing condition looks at, as borrowed text: the
// event's type name, source, id, and its data and metadata objects as JSON.
// Built from a ring frame (EventView: parsed in place, no copy) or from a
// decoded stream entry. The caller keeps the bytes alive while matching.
//
// EventDocuments: the data and metadata of one RoutedEvent, parsed at most
// once each and only when a condition asks for a field inside them. One per
// thread (it owns simdjson parsers); RuleMatcher keeps one.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace tradpal::routing {

struct RoutedEvent {
  std::string_view type;      // the event type's name, "market_data_update"
  std::string_view source;
  std::string_view event_id;  // canonical UUID text
  std::string_view data;      // a JSON object
  std::string_view metadata;  // a JSON object
  // Bytes readable at data.data() (metadata.data()). When at least the
  // size plus simdjson::SIMDJSON_PADDING, the text is parsed where it
  // stands (a ring frame guarantees it); otherwise it is first copied into
  // a buffer of the EventDocuments (which grows once, then is reused).
  std::size_t data_capacity = 0;
  std::size_t metadata_capacity = 0;
};

class EventDocuments {
 public:
  // Forgets the previous event's parses.
  void reset(const RoutedEvent& event) noexcept {
    event_ = &event;
    data_.state = Doc::unparsed;
    metadata_.state = Doc::unparsed;
  }
  [[nodiscard]] const RoutedEvent& event() const noexcept { return *event_; }

  // The parsed object, or nullptr when the text is not valid JSON (then
  // every condition on a field inside it is false, as for a missing field).
  [[nodiscard]] const simdjson::dom::element* data() noexcept {
    return parse(data_, event_->data, event_->data_capacity);
  }
  [[nodiscard]] const simdjson::dom::element* metadata() noexcept {
    return parse(metadata_, event_->metadata, event_->metadata_capacity);
  }

 private:
  struct Doc {
    enum State { unparsed, ok, failed };
    simdjson::dom::parser parser;
    std::string buffer;
    simdjson::dom::element root;
    State state = unparsed;
  };
  static const simdjson::dom::element* parse(Doc& doc, std::string_view text, std::size_t capacity) noexcept;

  const RoutedEvent* event_ = nullptr;
  Doc data_;
  Doc metadata_;
};

}  // namespace tradpal::routing
