// Fuzz harness: what Redis sends a stream reader, as RESP bytes through
// hiredis's reader building its replies in a ReplyArena (as every
// AsyncConnection does), each array element decoded as a stream entry
// (the stream tail's and EventStore's path).
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>

#include "adapters/redis/entry_decoder.h"
#include "adapters/redis/reply_arena.h"
#include "adapters/redis/stream_id.h"

namespace {

void visit(const redisReply* r, tradpal::redis::SkipCounter& skips, int depth) {
  if (r == nullptr || depth > 8) return;
  if (r->type == REDIS_REPLY_STRING) (void)tradpal::StreamId::parse({r->str, r->len});
  if (r->type != REDIS_REPLY_ARRAY) return;
  tradpal::EventFields fields;
  (void)tradpal::redis::decode_entry_view(r, skips, fields);
  (void)tradpal::redis::entry_id(r);
  for (std::size_t i = 0; i < r->elements; ++i) visit(r->element[i], skips, depth + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tradpal::redis::SkipCounter skips;
  tradpal::redis::ReplyArena arena;
  redisReader* reader = redisReaderCreate();
  arena.attach(reader);
  // Fed in two pieces: replies split across reads must build the same trees.
  const std::size_t half = size / 2;
  redisReaderFeed(reader, reinterpret_cast<const char*>(data), half);
  for (int pass = 0; pass < 2; ++pass) {
    for (;;) {
      void* out = nullptr;
      if (redisReaderGetReply(reader, &out) != REDIS_OK || out == nullptr) break;
      visit(static_cast<redisReply*>(out), skips, 0);
      reader->fn->freeObject(out);
    }
    if (pass == 0) redisReaderFeed(reader, reinterpret_cast<const char*>(data) + half, size - half);
  }
  redisReaderFree(reader);
  return 0;
}
