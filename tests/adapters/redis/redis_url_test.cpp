// RedisUrl parsing: the forms REDIS_URL takes, and passwords kept out of text.
#include "adapters/redis/redis_url.h"

#include <gtest/gtest.h>

namespace tradpal::redis {
namespace {

TEST(RedisUrlTest, ParsesHostPortAndDatabase) {
  const auto u = RedisUrl::parse("redis://cache.internal:6380/3");
  EXPECT_EQ(u.host, "cache.internal");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 3);
  EXPECT_TRUE(u.password.empty());
  EXPECT_FALSE(u.is_unix());
}

TEST(RedisUrlTest, DefaultsPortAndDatabase) {
  const auto u = RedisUrl::parse("redis://localhost");
  EXPECT_EQ(u.port, 6379);
  EXPECT_EQ(u.db, 0);
}

TEST(RedisUrlTest, ParsesPasswordAndAclUser) {
  const auto a = RedisUrl::parse("redis://:s3cret@h:1");
  EXPECT_TRUE(a.user.empty());
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(RedisUrl::parse("redis://:%7e%7E%41@h:1").password, "~~A") << "either case of hex digit";
  const auto b = RedisUrl::parse("redis://alice:p%40ss@h:1/2");
  EXPECT_EQ(b.user, "alice");
  EXPECT_EQ(b.password, "p@ss");
  EXPECT_EQ(b.db, 2);
}

TEST(RedisUrlTest, ParsesUnixSocketWithDatabase) {
  const auto u = RedisUrl::parse("unix:///run/redis/redis.sock?db=4");
  EXPECT_TRUE(u.is_unix());
  EXPECT_EQ(u.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(u.db, 4);
}

TEST(RedisUrlTest, ParsesAClustersSeedsAndCredentials) {
  const auto u = RedisUrl::parse("redis+cluster://ops:pa%2Css@n1:7001,n2,[::1]:7003,n1:7001");
  EXPECT_TRUE(u.cluster);
  ASSERT_EQ(u.seeds.size(), 3u);  // the repeated seed counts once
  EXPECT_EQ(u.seeds[0], (Endpoint{"n1", 7001}));
  EXPECT_EQ(u.seeds[1], (Endpoint{"n2", 6379}));
  EXPECT_EQ(u.seeds[2], (Endpoint{"::1", 7003}));
  EXPECT_EQ(u.host, "n1");
  EXPECT_EQ(u.port, 7001);
  EXPECT_EQ(u.user, "ops");
  EXPECT_EQ(u.password, "pa,ss");
  EXPECT_EQ(u.redacted(), "redis+cluster://ops:***@n1:7001,n2:6379,[::1]:7003");
  // One node of it: the same credentials, a plain URL.
  const auto node = u.at(u.seeds[1]);
  EXPECT_FALSE(node.cluster);
  EXPECT_EQ(node.redacted(), "redis://ops:***@n2:6379");
  EXPECT_EQ(node.password, "pa,ss");
  // A cluster has database 0 only; an empty seed is no seed.
  EXPECT_THROW((void)RedisUrl::parse("redis+cluster://n1:7001/2"), ConfigError);
  EXPECT_NO_THROW((void)RedisUrl::parse("redis+cluster://n1:7001/0"));
  EXPECT_THROW((void)RedisUrl::parse("redis+cluster://n1:7001,,n2"), ConfigError);
  EXPECT_THROW((void)RedisUrl::parse("redis+cluster://n1:70010"), ConfigError);
  try {
    (void)RedisUrl::parse("redis+cluster://u:topsecret@n1:7001,n2:x");
    ADD_FAILURE() << "bad port accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
  }
}

TEST(RedisUrlTest, RejectsBadUrlsWithAClearMessage) {
  for (const char* bad : {"http://h:1", "redis://h:notaport", "redis://h:70000", "redis://", "redis://h:1/x",
                          "unix://relative.sock", "localhost:6379", "redis://:p%-1@h:1", "redis://:p%+f@h:1",
                          "redis://:p%4@h:1", "redis://:p%4g@h:1", "redis://:p%@h:1"}) {
    EXPECT_THROW((void)RedisUrl::parse(bad), ConfigError) << bad;
  }
  try {
    (void)RedisUrl::parse("redis://h:1/x");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("database"), std::string::npos) << e.what();
  }
}

TEST(RedisUrlTest, PasswordNeverAppearsInErrorsOrRedactedForm) {
  const auto u = RedisUrl::parse("redis://bob:hunter2@h:7/1");
  EXPECT_EQ(u.redacted(), "redis://bob:***@h:7/1");
  try {
    (void)RedisUrl::parse("redis://bob:hunter2@h:bad");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
  }
  try {
    (void)RedisUrl::parse("redis://bob:hun%zzter2@h:1");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hun"), std::string::npos) << e.what();
  }
  // Passwords holding '/', '@' or ':' are credentials to the last '@', never
  // a host, port or database that an error would quote.
  const auto slashy = RedisUrl::parse("redis://bob:pa/ss@w:rd@h:7/2");
  EXPECT_EQ(slashy.password, "pa/ss@w:rd");
  EXPECT_EQ(slashy.host, "h");
  EXPECT_EQ(slashy.port, 7);
  EXPECT_EQ(slashy.db, 2);
  for (const char* bad : {"redis://bob:se/cr3t@h:x", "redis://:se/cr3t@h/notadb", "redis://se/cr3t@"}) {
    try {
      (void)RedisUrl::parse(bad);
      FAIL() << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).find("cr3t"), std::string::npos) << e.what();
    }
  }
  // Found by fuzzing: a password holding '?' (unescaped) ends the search
  // for '@' early, so it was read as a host or a port and echoed.
  for (const char* bad : {"redis://re:se?cr3t@t@", "redis://se?cr3t@0.r", "redis://bob:x?cr3t@h:1"}) {
    try {
      const auto url = RedisUrl::parse(bad);
      EXPECT_EQ(url.redacted().find("cr3t"), std::string::npos) << bad << " -> " << url.redacted();
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).find("cr3t"), std::string::npos) << e.what();
    }
  }
  // A plain bad number is still quoted, to help.
  try {
    (void)RedisUrl::parse("redis://h:70000");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("70000"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tradpal::redis
