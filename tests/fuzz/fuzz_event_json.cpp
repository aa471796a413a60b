// Fuzz harness: the wire JSON of an event (what every reader of the stream
// decodes) and the validity checks publishers rely on. Beyond not crashing:
// whatever decodes re-encodes to text that decodes to the same event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/event_json.h"
#include "engine/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tradpal;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)is_json_object(text);
  EventFields first;
  if (decode_event_view(text, first) != DecodeError::none) return 0;
  // The view borrows the decoder's buffers: copy before decoding again.
  const Event event = to_event(first);
  std::string again;
  append_event_json(again, first);
  EventFields second;
  if (decode_event_view(again, second) != DecodeError::none) __builtin_trap();
  // The wire carries microseconds (Python's isoformat): finer digits read
  // from a text do not survive re-encoding, and need not. Floored, so that
  // times before 1970 compare the same way.
  auto micros = [](TimestampNs ns) { return ns >= 0 ? ns / 1000 : -((-ns + 999) / 1000); };
  if (second.type != event.type || second.event_id != event.event_id ||
      micros(second.timestamp_ns) != micros(event.timestamp_ns) ||
      second.source != event.source || trim_json(second.data) != trim_json(event.data) ||
      trim_json(second.metadata) != trim_json(event.metadata)) {
    __builtin_trap();
  }
  return 0;
}
