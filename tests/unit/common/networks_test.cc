#include "common/networks.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Networks, PrefixesCutInsideAByteAndAtItsEdges) {
  auto n = Networks::Parse("192.0.2.128/25, 10.0.0.0/8, fe80::/10, 2001:db8::7");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_TRUE(n->Contains("192.0.2.128"));
  EXPECT_TRUE(n->Contains("192.0.2.255"));
  EXPECT_FALSE(n->Contains("192.0.2.127"));
  EXPECT_TRUE(n->Contains("10.255.255.255"));
  EXPECT_FALSE(n->Contains("11.0.0.0"));
  EXPECT_TRUE(n->Contains("febf:ffff::1"));
  EXPECT_FALSE(n->Contains("fec0::1"));
  EXPECT_TRUE(n->Contains("2001:db8::7"));
  EXPECT_FALSE(n->Contains("2001:db8::8"));
  EXPECT_TRUE(n->Contains("::ffff:10.1.2.3"));  // IPv4 written as IPv6
  EXPECT_FALSE(n->Contains("10.1.2.3:80"));     // not an address
  EXPECT_FALSE(n->Contains(""));
  EXPECT_EQ(*n->Find("10.9.9.9"), "10.0.0.0/8");
  EXPECT_EQ(n->Describe(), "192.0.2.128/25,10.0.0.0/8,fe80::/10,2001:db8::7");
}

TEST(Networks, EmptyHoldsNothingAndZeroHoldsEverything) {
  auto none = Networks::Parse(" , ");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(none->Contains("127.0.0.1"));
  auto all = Networks::Parse("0.0.0.0/0,::/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains("203.0.113.9"));
  EXPECT_TRUE(all->Contains("2001:db8::1"));
  EXPECT_TRUE(IsIpAddress("::1"));
  EXPECT_FALSE(IsIpAddress("[::1]"));
  EXPECT_FALSE(IsIpAddress("unknown"));
}

}  // namespace
}  // namespace sluice
