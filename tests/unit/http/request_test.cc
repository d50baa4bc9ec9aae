#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>
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

}  // namespace
}  // namespace sluice::http
