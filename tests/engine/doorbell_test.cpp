// Doorbells (engine/ring.h): a commit rings an armed doorbell once, on the
// committing thread; nothing rings an unarmed one; the owner's disarm and a
// publisher's ring never both win; publications ring the bus's doorbells.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "engine/bus.h"

namespace tradpal {
namespace {

struct Counter {
  std::atomic<int> rings{0};
  static void rung(void* self) noexcept { static_cast<Counter*>(self)->rings.fetch_add(1); }
};

EventSpec event() { return {.type = EventType::system_health, .source = "t", .data = "{\"ok\": true}"}; }

TEST(Doorbell, RingsOncePerArmingAndNeverUnarmed) {
  Bus bus;
  Counter c;
  Doorbell bell(&Counter::rung, &c);
  ASSERT_TRUE(bus.ring().add_doorbell(bell));
  ASSERT_EQ(bus.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(c.rings.load(), 0) << "rung while not armed";
  bus.ring().arm_doorbell(bell);
  ASSERT_EQ(bus.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(c.rings.load(), 1);
  ASSERT_EQ(bus.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(c.rings.load(), 1) << "rung twice for one arming";
  EXPECT_FALSE(bus.ring().disarm_doorbell(bell)) << "the publisher took this arming";
  bus.ring().arm_doorbell(bell);
  EXPECT_TRUE(bus.ring().disarm_doorbell(bell));
  ASSERT_EQ(bus.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(c.rings.load(), 1) << "rung after the owner disarmed it";
  bus.ring().remove_doorbell(bell);
}

// An owner that arms an armed doorbell again (as the persister's loop may)
// must not count a second sleeper: 40 000 such arms once overflowed the
// count and silenced the doorbell for good.
TEST(Doorbell, ArmingTwiceIsOneArming) {
  Bus bus;
  Counter c;
  Doorbell bell(&Counter::rung, &c);
  ASSERT_TRUE(bus.ring().add_doorbell(bell));
  for (int i = 0; i < 40000; ++i) {
    bus.ring().arm_doorbell(bell);
    bus.ring().arm_doorbell(bell);
    ASSERT_TRUE(bus.ring().disarm_doorbell(bell));
    ASSERT_FALSE(bus.ring().disarm_doorbell(bell));
  }
  bus.ring().arm_doorbell(bell);
  ASSERT_EQ(bus.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(c.rings.load(), 1);
  bus.ring().remove_doorbell(bell);
}

TEST(Doorbell, ARemovedDoorbellIsNotRungAndTheTableIsBounded) {
  Bus bus;
  std::vector<Counter> counters(Ring::kMaxDoorbells + 1);
  std::vector<std::unique_ptr<Doorbell>> bells;
  for (auto& c : counters) bells.push_back(std::make_unique<Doorbell>(&Counter::rung, &c));
  for (std::size_t i = 0; i < Ring::kMaxDoorbells; ++i) ASSERT_TRUE(bus.ring().add_doorbell(*bells[i]));
  EXPECT_FALSE(bus.ring().add_doorbell(*bells.back())) << "more doorbells than the table holds";
  for (auto& b : bells) bus.ring().arm_doorbell(*b);
  bus.ring().remove_doorbell(*bells[0]);
  ASSERT_EQ(bus.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(counters[0].rings.load(), 0) << "a removed doorbell rang";
  for (std::size_t i = 1; i < Ring::kMaxDoorbells; ++i) EXPECT_EQ(counters[i].rings.load(), 1) << i;
  EXPECT_EQ(counters.back().rings.load(), 0) << "a doorbell never added rang";
  // The freed entry takes another doorbell.
  EXPECT_TRUE(bus.ring().add_doorbell(*bells.back()));
  bus.ring().disarm_doorbell(*bells.back());
  for (std::size_t i = 1; i <= Ring::kMaxDoorbells; ++i) bus.ring().remove_doorbell(*bells[i]);
}

TEST(Doorbell, APublicationsCommitRingsTheBussDoorbell) {
  Bus bus;
  Counter c;
  Doorbell bell(&Counter::rung, &c);
  ASSERT_TRUE(bus.ring().add_doorbell(bell));
  Publication pub = bus.publication();
  bus.ring().arm_doorbell(bell);
  ASSERT_EQ(pub.try_publish(event()), PublishStatus::ok);
  EXPECT_EQ(c.rings.load(), 1);
  bus.ring().remove_doorbell(bell);
}

}  // namespace
}  // namespace tradpal
