#include "server/address_policy.h"

#include <gtest/gtest.h>

namespace sluice::server {
namespace {

TEST(AddressPolicy, ByDefaultEveryAddressButLinkLocal) {
  auto p = AddressPolicy::Parse("");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Refuses("127.0.0.1"), "");
  EXPECT_EQ(p->Refuses("10.1.2.3"), "");
  EXPECT_EQ(p->Refuses("2001:db8::1"), "");
  EXPECT_NE(p->Refuses("169.254.169.254"), "");
  EXPECT_NE(p->Refuses("169.254.0.1"), "");
  EXPECT_NE(p->Refuses("::ffff:169.254.169.254"), "");  // IPv4 written as IPv6
  EXPECT_NE(p->Refuses("fe80::1"), "");
  EXPECT_NE(p->Refuses("febf::1"), "");
  EXPECT_EQ(p->Refuses("fec0::1"), "");  // just past fe80::/10
  EXPECT_NE(p->Refuses("fd00:ec2::254"), "");
  EXPECT_EQ(p->Refuses("169.255.0.1"), "");
  EXPECT_NE(p->Refuses("not-an-address"), "");
}

TEST(AddressPolicy, AnAllowListNamesTheOnlyNetworks) {
  auto p = AddressPolicy::Parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,169.254.169.254");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->Refuses("10.255.0.1"), "");
  EXPECT_EQ(p->Refuses("192.0.2.7"), "");
  EXPECT_NE(p->Refuses("192.0.2.8"), "");
  EXPECT_NE(p->Refuses("11.0.0.1"), "");
  EXPECT_NE(p->Refuses("127.0.0.1"), "");
  EXPECT_EQ(p->Refuses("2001:db8:ffff::1"), "");
  EXPECT_NE(p->Refuses("2001:db9::1"), "");
  EXPECT_EQ(p->Refuses("169.254.169.254"), "");  // named, so allowed
  EXPECT_EQ(p->Refuses("::ffff:10.0.0.1"), "");
  EXPECT_EQ(p->Describe(), "10.0.0.0/8,192.0.2.7,2001:db8::/32,169.254.169.254");
}

TEST(AddressPolicy, BadEntriesAreNamed) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "host.example", "::/129", "1.2.3.4/x"}) {
    auto p = AddressPolicy::Parse(std::string("10.0.0.0/8,") + bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), Err::kInvalidArgument);
    EXPECT_NE(p.status().message().find(bad), std::string_view::npos) << p.status().ToString();
  }
}

}  // namespace
}  // namespace sluice::server
