#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
#include <memory>
#include <string>

#include "http/http.h"

namespace sluice::http {
namespace {

TEST(Request, HeadersAreFoundIgnoringCaseFirstOneWins) {
  boost::beast::http::fields f;
  f.insert("Host", "example");
  f.insert("X-Amz-Date", "20130524T000000Z");
  f.insert("x-amz-meta-a", "first");
  f.insert("X-AMZ-META-A", "second");
  f.insert("Empty", "");
  f.insert("x-amz-meta-~", "tilde");
  Request r(f, "GET", "/b/k?x=1");
  EXPECT_EQ(r.path(), "/b/k");
  EXPECT_EQ(r.query(), "x=1");
  EXPECT_EQ(r.header("host"), "example");
  EXPECT_EQ(r.header("HOST"), "example");
  EXPECT_EQ(r.header("x-amz-date"), "20130524T000000Z");
  EXPECT_EQ(r.header("x-amz-meta-a"), "first");
  EXPECT_TRUE(r.has_header("empty"));
  EXPECT_EQ(r.header("empty"), "");
  EXPECT_FALSE(r.has_header("absent"));
  EXPECT_EQ(r.header("X-AMZ-META-~"), "tilde");
  EXPECT_FALSE(r.has_header("hos"));  // a prefix is not the name
  // Only A-Z fold: '^' and '~' are both token characters and differ by the case bit.
  EXPECT_FALSE(r.has_header("hos~"));
  EXPECT_FALSE(r.has_header("x-amz-meta-^"));
  int n = 0;
  std::string order;
  r.ForEachHeader([&](std::string_view name, std::string_view) {
    n++;
    order += std::string(name) + ",";
  });
  EXPECT_EQ(n, 6);
  EXPECT_EQ(order, "Host,X-Amz-Date,x-amz-meta-a,X-AMZ-META-A,Empty,x-amz-meta-~,");
}

TEST(Request, ManyHeaders) {
  boost::beast::http::fields f;
  for (int i = 0; i < 100; i++) f.insert("h" + std::to_string(i), "v" + std::to_string(i));
  Request r(f, "PUT", "/");
  for (int i = 0; i < 100; i++)
    EXPECT_EQ(r.header("H" + std::to_string(i)), "v" + std::to_string(i));
}

// A request from `peer` with these headers, as the server would see it after
// ApplyForwarded with the proxies 127.0.0.1 and 10.0.0.0/8.
struct Forwarded {
  boost::beast::http::fields f;
  std::unique_ptr<Request> r;
  void Apply(std::string peer, bool tls = false) {
    r = std::make_unique<Request>(f, "GET", "/b/k");
    r->remote_ip = std::move(peer);
    r->secure = tls;
    ApplyForwarded(*r,
                   [](std::string_view a) { return a == "127.0.0.1" || a.substr(0, 3) == "10."; });
  }
};

TEST(ApplyForwarded, ATrustedProxyNamesTheClient) {
  Forwarded x;
  x.f.insert("X-Forwarded-For", "203.0.113.9");
  x.f.insert("X-Forwarded-Proto", "https");
  x.Apply("127.0.0.1");
  EXPECT_EQ(x.r->remote_ip, "203.0.113.9");
  EXPECT_EQ(x.r->proxy_ip, "127.0.0.1");
  EXPECT_TRUE(x.r->secure);
}

TEST(ApplyForwarded, AnyoneElsesHeadersAreIgnored) {
  Forwarded x;
  x.f.insert("X-Forwarded-For", "203.0.113.9");
  x.f.insert("X-Real-IP", "203.0.113.9");
  x.f.insert("X-Forwarded-Proto", "https");
  x.Apply("198.51.100.4");
  EXPECT_EQ(x.r->remote_ip, "198.51.100.4");
  EXPECT_EQ(x.r->proxy_ip, "");
  EXPECT_FALSE(x.r->secure);
}

TEST(ApplyForwarded, TheWalkPassesOverTrustedHopsAndStopsAtTheFirstOther) {
  Forwarded x;
  // The client claims 1.2.3.4 itself; 198.51.100.4 connected to our first proxy (10.0.0.5),
  // which connected to the second (127.0.0.1, the peer). Every instance counts, in order.
  x.f.insert("X-Forwarded-For", "1.2.3.4, 198.51.100.4");
  x.f.insert("X-Forwarded-For", "10.0.0.5");
  x.Apply("127.0.0.1");
  EXPECT_EQ(x.r->remote_ip, "198.51.100.4");
  EXPECT_EQ(x.r->proxy_ip, "127.0.0.1");
}

TEST(ApplyForwarded, NothingBeyondAnEntryThatIsNotAnAddressIsBelieved) {
  Forwarded x;
  x.f.insert("X-Forwarded-For", "203.0.113.9, unknown, 10.0.0.5");
  x.Apply("127.0.0.1");
  EXPECT_EQ(x.r->remote_ip, "10.0.0.5");  // the last hop that was an address
  Forwarded y;
  y.f.insert("X-Forwarded-For", "203.0.113.9, [2001:db8::1]:443");
  y.Apply("127.0.0.1");
  EXPECT_EQ(y.r->remote_ip, "127.0.0.1");  // unchanged
  EXPECT_EQ(y.r->proxy_ip, "");
}

TEST(ApplyForwarded, EveryHopTrustedGivesTheFarthestAndXRealIpStandsAlone) {
  Forwarded x;
  x.f.insert("X-Forwarded-For", "10.0.0.9,10.0.0.5");
  x.Apply("127.0.0.1");
  EXPECT_EQ(x.r->remote_ip, "10.0.0.9");
  Forwarded y;
  y.f.insert("X-Real-IP", " 2001:db8::1 ");
  y.f.insert("X-Forwarded-Proto", "https, http");  // the nearest proxy's word is the last
  y.Apply("10.1.1.1");
  EXPECT_EQ(y.r->remote_ip, "2001:db8::1");
  EXPECT_EQ(y.r->proxy_ip, "10.1.1.1");
  EXPECT_FALSE(y.r->secure);
  Forwarded z;  // a trusted peer that names nobody changes nothing
  z.Apply("127.0.0.1", true);
  EXPECT_EQ(z.r->remote_ip, "127.0.0.1");
  EXPECT_EQ(z.r->proxy_ip, "");
  EXPECT_TRUE(z.r->secure);
}

}  // namespace
}  // namespace sluice::http
