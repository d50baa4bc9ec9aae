// The bucket access cache hears of changes from the index: two gateways' caches over one
// index both drop a bucket's entry when its policy changes through either, or through the
// index directly (another process on a shared backend). No operation invalidates by hand.
#include <gtest/gtest.h>

#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "s3/authz.h"
#include "testutil/names.h"
#include "testutil/run_coroutine.h"

namespace sluice::s3 {
namespace {

using namespace sluice::testing_names;  // NOLINT
using sluice::testing_async::RunCoroutine;

const char* kPublicRead =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]})";

TEST(BucketAccessCache, EveryCacheHearsAChangeOnce) {
  meta::MemKv kv;
  meta::KvIndex index(&kv, false);
  boost::asio::thread_pool pool(1);
  meta::AsyncIndex async(&index, &pool);
  BucketAccessCache gateway_a(&async), gateway_b(&async);
  const meta::BucketInfo info{"b"_b, 1, "o", "us-east-1"};
  ASSERT_TRUE(index.CreateBucket(info).ok());
  const std::string bucket = "b";
  RunCoroutine([&]() -> Task<void> {
    for (BucketAccessCache* c : {&gateway_a, &gateway_b}) {
      auto e = co_await c->Get(bucket);
      EXPECT_TRUE(e.ok() && !(*e)->policy);
      EXPECT_TRUE(c->Peek(bucket) != nullptr);  // cached
    }
  });
  ASSERT_TRUE(index.PutBucketConfig("b"_b, "policy", kPublicRead).ok());
  EXPECT_EQ(gateway_a.Peek(bucket), nullptr);
  EXPECT_EQ(gateway_b.Peek(bucket), nullptr);
  RunCoroutine([&]() -> Task<void> {
    for (BucketAccessCache* c : {&gateway_a, &gateway_b}) {
      auto e = co_await c->Get(bucket);
      EXPECT_TRUE(e.ok() && (*e)->policy && (*e)->policy->IsPublic());
    }
  });
  pool.join();
}

}  // namespace
}  // namespace sluice::s3
