#include "adapters/redis/reply_arena.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace tradpal::redis {
namespace {

constexpr std::size_t kAlign = alignof(redisReply);
constexpr std::size_t kFirstBlock = std::size_t{64} << 10;

constexpr std::size_t round_up(std::size_t n) noexcept { return (n + kAlign - 1) & ~(kAlign - 1); }

// Every object starts with one word: the arena for a root (so that freeing
// it can find the arena: freeObject gets nothing but the pointer), null for
// an element of an array.
struct Tag {
  ReplyArena* root_of;
};
static_assert(sizeof(Tag) % alignof(redisReply) == 0);

ReplyArena* arena_of(const redisReadTask* task) noexcept { return static_cast<ReplyArena*>(task->privdata); }

// A reply object with `extra` bytes after it, linked into its parent array
// as hiredis's own functions do.
redisReply* make(const redisReadTask* task, std::size_t extra) noexcept {
  void* at = arena_of(task)->allocate(sizeof(Tag) + sizeof(redisReply) + extra);
  if (at == nullptr) return nullptr;
  auto* tag = static_cast<Tag*>(at);
  tag->root_of = task->parent == nullptr ? arena_of(task) : nullptr;
  auto* r = new (tag + 1) redisReply{};
  r->type = task->type;
  if (task->parent != nullptr) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    // The reader only nests inside arrays; anything else is a broken reader.
    if (parent->type != REDIS_REPLY_ARRAY || task->idx < 0 ||
        static_cast<std::size_t>(task->idx) >= parent->elements) {
      return nullptr;
    }
    parent->element[task->idx] = r;
  }
  return r;
}

void* create_string(const redisReadTask* task, char* str, std::size_t len) {
  redisReply* r = make(task, len + 1);
  if (r == nullptr) return nullptr;
  r->str = reinterpret_cast<char*>(r + 1);
  if (len != 0) std::memcpy(r->str, str, len);
  r->str[len] = '\0';
  r->len = len;
  return r;
}

// No reply of ours comes near this (a page is 1,000 entries); a header
// announcing more would have the arena reserve gigabytes for it up front.
constexpr std::size_t kMaxArrayElements = std::size_t{1} << 20;

void* create_array(const redisReadTask* task, int elements) {
  const std::size_t n = elements > 0 ? static_cast<std::size_t>(elements) : 0;
  if (n > kMaxArrayElements) return nullptr;  // hiredis then fails the read ("Out of memory")
  redisReply* r = make(task, n * sizeof(redisReply*));
  if (r == nullptr) return nullptr;
  r->type = REDIS_REPLY_ARRAY;
  r->elements = n;
  if (n != 0) {
    r->element = reinterpret_cast<redisReply**>(r + 1);
    std::fill_n(r->element, n, nullptr);
  }
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  redisReply* r = make(task, 0);
  if (r == nullptr) return nullptr;
  r->type = REDIS_REPLY_INTEGER;
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  // The task's type is that of the bulk or array that was nil.
  redisReply* r = make(task, 0);
  if (r != nullptr) r->type = REDIS_REPLY_NIL;
  return r;
}

void free_object(void* reply) {
  if (reply == nullptr) return;
  const Tag* tag = static_cast<const Tag*>(reply) - 1;
  if (tag->root_of != nullptr) tag->root_of->release();
}

redisReplyObjectFunctions kFunctions = {create_string, create_array, create_integer, create_nil, free_object};

}  // namespace

ReplyArena::~ReplyArena() {
  while (head_ != nullptr) {
    Block* next = head_->next;
    std::free(head_);
    head_ = next;
  }
}

void ReplyArena::attach(redisReader* reader) noexcept {
  reader->fn = &kFunctions;
  reader->privdata = this;
}

std::size_t ReplyArena::held() const noexcept {
  std::size_t n = 0;
  for (const Block* b = head_; b != nullptr; b = b->next) n += b->size;
  return n;
}

ReplyArena::Block* ReplyArena::new_block(std::size_t size) noexcept {
  void* raw = std::malloc(round_up(sizeof(Block)) + size);
  if (raw == nullptr) return nullptr;
  return new (raw) Block{nullptr, size, 0};
}

void* ReplyArena::allocate(std::size_t size) noexcept {
  size = round_up(size);
  if (head_ == nullptr || head_->size - head_->used < size) {
    // Each new block doubles what is held, so a large reply takes few.
    const std::size_t grown = std::max({size, kFirstBlock, head_ == nullptr ? 0 : 2 * head_->size});
    Block* b = new_block(grown);
    if (b == nullptr) return nullptr;
    b->next = head_;
    head_ = b;
  }
  std::byte* at = reinterpret_cast<std::byte*>(head_) + round_up(sizeof(Block)) + head_->used;
  head_->used += size;
  return at;
}

void ReplyArena::release() noexcept {
  if (head_ == nullptr) return;
  if (head_->next == nullptr && head_->size <= kRetained) {
    head_->used = 0;
    return;
  }
  // The reply needed several blocks: keep one that would have held it all
  // (up to kRetained), so the next reply of that size takes one.
  const std::size_t total = held();
  while (head_ != nullptr) {
    Block* next = head_->next;
    std::free(head_);
    head_ = next;
  }
  head_ = new_block(std::min(total, kRetained));
}

}  // namespace tradpal::redis
