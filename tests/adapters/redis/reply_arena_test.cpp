// ReplyArena builds the same reply trees as hiredis's own functions, frees a
// reply at once when its root goes, and holds no more than kRetained bytes
// between replies. Fed through a real hiredis reader (the protocol parser an
// async connection uses); ASan checks that nothing is touched after release.
#include "adapters/redis/reply_arena.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

namespace tradpal::redis {
namespace {

struct ReaderFree {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};
using Reader = std::unique_ptr<redisReader, ReaderFree>;

Reader reader_on(ReplyArena& arena) {
  Reader r(redisReaderCreate());
  arena.attach(r.get());
  return r;
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

redisReply* next_reply(redisReader* r) {
  void* out = nullptr;
  EXPECT_EQ(redisReaderGetReply(r, &out), REDIS_OK) << r->errstr;
  return static_cast<redisReply*>(out);
}

TEST(ReplyArena, BuildsTheTreeHiredisWould) {
  ReplyArena arena;
  auto r = reader_on(arena);
  const std::string wire = "*5\r\n" + bulk("event") + ":-42\r\n$-1\r\n*2\r\n+OK\r\n-ERR no\r\n*0\r\n";
  ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
  redisReply* reply = next_reply(r.get());
  ASSERT_NE(reply, nullptr);
  ASSERT_EQ(reply->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(reply->elements, 5u);
  EXPECT_EQ(reply->element[0]->type, REDIS_REPLY_STRING);
  EXPECT_EQ(std::string(reply->element[0]->str, reply->element[0]->len), "event");
  EXPECT_EQ(reply->element[0]->str[5], '\0');
  EXPECT_EQ(reply->element[1]->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(reply->element[1]->integer, -42);
  EXPECT_EQ(reply->element[2]->type, REDIS_REPLY_NIL);
  const redisReply* nested = reply->element[3];
  ASSERT_EQ(nested->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(nested->elements, 2u);
  EXPECT_EQ(nested->element[0]->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(std::string(nested->element[0]->str), "OK");
  EXPECT_EQ(nested->element[1]->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string(nested->element[1]->str), "ERR no");
  EXPECT_EQ(reply->element[4]->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(reply->element[4]->elements, 0u);
  r->fn->freeObject(reply);
}

TEST(ReplyArena, EachReplyReusesTheSameMemory) {
  ReplyArena arena;
  auto r = reader_on(arena);
  const std::string wire = "*2\r\n" + bulk("a") + bulk("b");
  const void* first = nullptr;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
    redisReply* reply = next_reply(r.get());
    ASSERT_NE(reply, nullptr);
    if (i == 0) first = reply;
    EXPECT_EQ(static_cast<const void*>(reply), first) << "reply " << i << " did not reuse the block";
    EXPECT_EQ(std::string(reply->element[1]->str), "b");
    r->fn->freeObject(reply);
  }
}

TEST(ReplyArena, ALargeReplyIsGivenBackBeyondTheRetainedBytes) {
  ReplyArena arena;
  auto r = reader_on(arena);
  // ~8 MiB over 2,000 elements of 4 KiB: several blocks.
  const std::string chunk(4096, 'x');
  std::string wire = "*2000\r\n";
  for (int i = 0; i < 2000; ++i) wire += bulk(chunk);
  ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
  redisReply* reply = next_reply(r.get());
  ASSERT_NE(reply, nullptr);
  ASSERT_EQ(reply->elements, 2000u);
  for (std::size_t i = 0; i < reply->elements; ++i) ASSERT_EQ(reply->element[i]->len, chunk.size());
  EXPECT_GT(arena.held(), ReplyArena::kRetained);
  r->fn->freeObject(reply);
  EXPECT_LE(arena.held(), ReplyArena::kRetained);
  EXPECT_GT(arena.held(), 0u);
}

TEST(ReplyArena, AReplyCutShortIsReleasedWithItsReader) {
  ReplyArena arena;
  {
    auto r = reader_on(arena);
    const std::string wire = "*3\r\n" + bulk("one") + "$10\r\nabc";
    ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
    void* out = nullptr;
    ASSERT_EQ(redisReaderGetReply(r.get(), &out), REDIS_OK);
    EXPECT_EQ(out, nullptr);  // incomplete: the partial tree stays in the arena
  }  // the reader frees the partial root: the arena must be reusable after
  auto r = reader_on(arena);
  const std::string wire = bulk("again");
  ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
  redisReply* reply = next_reply(r.get());
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(std::string(reply->str), "again");
  r->fn->freeObject(reply);
}

// Found by fuzzing: an array header announcing ~800 million elements had the
// arena reserve 6 GB before a single element arrived.
TEST(ReplyArena, AnArrayHeaderOfAbsurdSizeFailsTheReadWithoutReservingIt) {
  ReplyArena arena;
  auto r = reader_on(arena);
  const std::string wire = "*777777782\r\n$1\r\nx\r\n";
  ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
  void* out = nullptr;
  EXPECT_EQ(redisReaderGetReply(r.get(), &out), REDIS_ERR);
  EXPECT_LT(arena.held(), std::size_t{1} << 20);
}

TEST(ReplyArena, AProtocolErrorFailsTheReadCleanly) {
  ReplyArena arena;
  auto r = reader_on(arena);
  const std::string wire = "*2\r\n" + bulk("ok") + "!bogus\r\n";
  ASSERT_EQ(redisReaderFeed(r.get(), wire.data(), wire.size()), REDIS_OK);
  void* out = nullptr;
  EXPECT_EQ(redisReaderGetReply(r.get(), &out), REDIS_ERR);
  EXPECT_NE(std::string(r->errstr).find("Protocol error"), std::string::npos) << r->errstr;
}

}  // namespace
}  // namespace tradpal::redis
