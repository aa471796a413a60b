#include "engine/uuid.h"

#include <gtest/gtest.h>

#include <string>

#include <regex>
#include <unordered_set>

namespace tradpal {
namespace {

TEST(Uuid, GeneratesCanonicalVersion4Text) {
  const std::regex canonical("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 1000; ++i) {
    const Uuid u = Uuid::generate_v4();
    EXPECT_EQ(u.version(), 4);
    EXPECT_TRUE(std::regex_match(u.to_string(), canonical)) << u.to_string();
  }
}

TEST(Uuid, GeneratedIdsAreDistinct) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(Uuid::generate_v4().to_string()).second);
}

TEST(Uuid, ParsesWhatItFormatsAndUpperCase) {
  const Uuid u = Uuid::generate_v4();
  const auto back = Uuid::parse(u.to_string());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, u);
  const auto upper = Uuid::parse("5598E30C-2E24-4B5A-8CD0-81F30A81161D");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->to_string(), "5598e30c-2e24-4b5a-8cd0-81f30a81161d");
}

TEST(Uuid, RejectsMalformedText) {
  EXPECT_FALSE(Uuid::parse(""));
  EXPECT_FALSE(Uuid::parse("5598e30c2e244b5a8cd081f30a81161d"));
  EXPECT_FALSE(Uuid::parse("5598e30c-2e24-4b5a-8cd0-81f30a81161"));
  EXPECT_FALSE(Uuid::parse("5598e30c-2e24-4b5a-8cd0-81f30a81161dd"));
  EXPECT_FALSE(Uuid::parse("5598e30c-2e24-4b5a-8cd0_81f30a81161d"));
  EXPECT_FALSE(Uuid::parse("5598e30g-2e24-4b5a-8cd0-81f30a81161d"));
  EXPECT_FALSE(Uuid::parse("5598e30-c2e24-4b5a-8cd0-81f30a81161d"));
}

TEST(Uuid, RejectsANonHexCharacterAtEveryPosition) {
  const std::string good = "5598e30c-2e24-4b5a-8cd0-81f30a81161d";
  ASSERT_TRUE(Uuid::parse(good));
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const char bad : {'g', 'G', '-', ' ', '\0', '\xff', '/', ':', '@', '`'}) {
      if (good[i] == '-' && bad == '-') continue;
      std::string text = good;
      text[i] = bad;
      EXPECT_FALSE(Uuid::parse(text)) << "position " << i << " holding char " << int(bad);
    }
  }
}

}  // namespace
}  // namespace tradpal
