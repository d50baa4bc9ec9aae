#include "server/usage.h"

#include <gtest/gtest.h>

#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "testutil/names.h"

namespace sluice::server {
namespace {

using namespace sluice::testing_names;  // NOLINT

meta::ObjectMeta Object(uint64_t size) {
  meta::ObjectMeta m;
  m.etag = "e";
  m.size = size;
  return m;
}

TEST(CountUsageOnceTest, CountsAnIndexWrittenBeforeUsageWasKeptThenOnlyOnce) {
  meta::MemKv kv;
  {
    meta::KvIndex old(&kv, true);  // keeps no usage, as before
    ASSERT_TRUE(old.CreateBucket({"data"_b, 1, "o", ""}).ok());
    ASSERT_TRUE(old.CreateBucket({"empty"_b, 1, "o", ""}).ok());
    ASSERT_TRUE(old.PutObject("data"_b, "a"_k, Object(10), {}, nullptr).ok());
    ASSERT_TRUE(old.PutObject("data"_b, "b"_k, Object(5), {}, nullptr).ok());
  }
  meta::KvIndex index(&kv, true);
  index.TrackUsage("w1");
  ASSERT_TRUE(CountUsageOnce(&index).ok());
  auto u = index.GetBucketUsage("data"_b);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->objects, 2);
  EXPECT_EQ(u->bytes, 15);
  EXPECT_EQ(u->versions, 2);
  EXPECT_TRUE(index.GetBucketUsage("empty"_b)->empty());
  // From now on every write keeps it; a second start does not count again (it would be
  // right too, but it is a scan).
  ASSERT_TRUE(index.PutObject("data"_b, "c"_k, Object(1), {}, nullptr).ok());
  ASSERT_TRUE(CountUsageOnce(&index).ok());
  EXPECT_EQ(index.GetBucketUsage("data"_b)->objects, 3);
  auto docs = index.ListDocs("usage");
  ASSERT_TRUE(docs.ok());
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0].first, "counted");
}

}  // namespace
}  // namespace sluice::server
