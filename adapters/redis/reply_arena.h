// adapters/redis/reply_arena.h
//
// ReplyArena: where one hiredis reader builds its replies. hiredis's default
// reply functions make one malloc per element (a 1,000-entry XREAD page is
// some 7,000 of them, and as many frees), which costs a stream reader as much
// as decoding the events. The arena builds the same `redisReply` trees by
// bumping a pointer in a block it keeps, and "frees" a whole reply at once
// when hiredis frees its root.
//
// Who may use it: one AsyncConnection per arena, on its loop thread. A reader
// hands out one reply at a time and frees it before it builds the next
// (hiredis's async layer frees each reply right after its callback), which
// is what lets a root's free release everything. So the replies must never
// be freed with freeReplyObject() nor kept past the callback that got them.
//
// Memory: it keeps at most kRetained bytes between replies; a larger reply
// borrows extra blocks that its free gives back.
#pragma once

#include <cstddef>

struct redisReader;

namespace tradpal::redis {

class ReplyArena {
 public:
  static constexpr std::size_t kRetained = std::size_t{2} << 20;

  ReplyArena() = default;
  ~ReplyArena();
  ReplyArena(const ReplyArena&) = delete;
  ReplyArena& operator=(const ReplyArena&) = delete;

  // Makes `reader` build its replies here. Call before the reader has read
  // anything; the arena must outlive the reader.
  void attach(redisReader* reader) noexcept;

  // For tests: bytes held now (retained and borrowed).
  [[nodiscard]] std::size_t held() const noexcept;

  // Used by the reply functions (reply_arena.cpp). Null when out of memory:
  // hiredis then fails the read with "Out of memory".
  [[nodiscard]] void* allocate(std::size_t size) noexcept;
  // The root reply was freed: every object of it goes at once.
  void release() noexcept;

 private:
  struct Block {
    Block* next;
    std::size_t size;  // usable bytes after the header
    std::size_t used;
  };
  static Block* new_block(std::size_t size) noexcept;

  Block* head_ = nullptr;  // the block being filled; older ones follow
};

}  // namespace tradpal::redis
