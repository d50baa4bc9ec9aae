// The listing cache's bookkeeping (meta/rados/range_cache.h). That a validated page is what
// the OSD holds is the two-gateway test's job (rados_index_test.cc); here: what is found,
// when a run is kept, and the memory bound.
#include "meta/rados/range_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::meta {
namespace {

std::shared_ptr<EntryRun> Keys(int from, int to) {  // k000from .. k000(to-1)
  auto run = std::make_shared<EntryRun>();
  for (int i = from; i < to; i++) {
    char k[16];
    std::snprintf(k, sizeof k, "k%05d", i);
    run->Add(k, "v" + std::to_string(i));
  }
  return run;
}

TEST(EntryRun, KeepsEntriesInOneBufferAndFindsByKey) {
  auto run = Keys(0, 10);
  ASSERT_EQ(run->size(), 10u);
  EXPECT_EQ(run->key(3), "k00003");
  EXPECT_EQ(run->value(3), "v3");
  EXPECT_EQ(run->LowerBound("k00003"), 3u);
  EXPECT_EQ(run->LowerBound("k00003\x01"), 4u);
  EXPECT_EQ(run->LowerBound("a"), 0u);
  EXPECT_EQ(run->LowerBound("z"), 10u);
}

TEST(RangeCache, FindsARunCoveringTheRequestAndNothingElse) {
  RangeCache c(1 << 20);
  c.Offer("o", 7, "k00000", Keys(0, 100), /*to_end=*/false);
  auto hit = c.Find("o", "k00010", 50);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->version, 7u);
  EXPECT_EQ(hit->pos, 10u);
  EXPECT_FALSE(hit->to_end);
  EXPECT_FALSE(c.Find("o", "k00060", 50)) << "only 40 entries left in the run";
  EXPECT_FALSE(c.Find("o", "j", 10)) << "before the run: unknown";
  EXPECT_FALSE(c.Find("other", "k00010", 1));
  // A run that reaches the object's end answers any request inside or after it.
  c.Offer("o", 7, "k00100", Keys(100, 120), /*to_end=*/true);
  hit = c.Find("o", "k00110", 1000);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->to_end);
  EXPECT_EQ(hit->pos, 10u);
  hit = c.Find("o", "z", 1000);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->pos, hit->run->size());
  EXPECT_EQ(c.stats().hits, 3u);
}

TEST(RangeCache, KeepsRunsOnlyOfAnObjectThatHoldsStill) {
  RangeCache c(1 << 20);
  c.Offer("o", 5, "k00000", Keys(0, 10), false);  // first read of "o": kept
  EXPECT_TRUE(c.Find("o", "k00000", 10));
  c.Offer("o", 6, "k00010", Keys(10, 20), false);  // it moved: everything dropped
  EXPECT_FALSE(c.Find("o", "k00000", 10));
  EXPECT_FALSE(c.Find("o", "k00010", 10));
  c.Offer("o", 6, "k00010", Keys(10, 20), false);  // read again at the same version: kept
  EXPECT_TRUE(c.Find("o", "k00010", 10));
  c.Changed("o");  // a validation failed
  EXPECT_FALSE(c.Find("o", "k00010", 10));
  c.Offer("o", 6, "k00010", Keys(10, 20), false);  // not quiet yet
  EXPECT_FALSE(c.Find("o", "k00010", 10));
  c.Offer("o", 9, "k00010", Keys(10, 20), false);
  EXPECT_FALSE(c.Find("o", "k00010", 10));
  c.Offer("o", 9, "k00010", Keys(10, 20), false);
  EXPECT_TRUE(c.Find("o", "k00010", 10));
  EXPECT_EQ(c.stats().stale, 1u);
}

TEST(RangeCache, StaysWithinItsBudgetDroppingTheLeastRecentlyUsed) {
  const size_t one = Keys(0, 100)->bytes();
  RangeCache c(one * 4 + one / 2);
  for (int i = 0; i < 4; i++) c.Offer("o" + std::to_string(i), 1, "k00000", Keys(0, 100), false);
  ASSERT_TRUE(c.Find("o0", "k00000", 100));  // o0 is now the most recently used
  c.Offer("o4", 1, "k00000", Keys(0, 100), false);
  EXPECT_LE(c.stats().bytes, one * 4 + one / 2);
  EXPECT_TRUE(c.Find("o0", "k00000", 100));
  EXPECT_FALSE(c.Find("o1", "k00000", 100)) << "the least recently used went first";
  EXPECT_TRUE(c.Find("o4", "k00000", 100));
  RangeCache none(0);
  none.Offer("o", 1, "k00000", Keys(0, 10), false);
  EXPECT_FALSE(none.Find("o", "k00000", 1));
}

}  // namespace
}  // namespace sluice::meta
