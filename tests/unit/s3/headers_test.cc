#include "s3/headers.h"

#include <gtest/gtest.h>

namespace sluice::s3 {
namespace {

std::string Range(std::string_view h, uint64_t size) {
  auto r = ParseRange(h, size);
  if (!r.ok()) return std::string(ErrName(r.status().code()));
  if (!*r) return "whole";
  return std::to_string((*r)->start) + "+" + std::to_string((*r)->length);
}

TEST(Headers, Ranges) {
  EXPECT_EQ(Range("bytes=0-9", 100), "0+10");
  EXPECT_EQ(Range("bytes=90-200", 100), "90+10");
  EXPECT_EQ(Range("bytes=10-", 100), "10+90");
  EXPECT_EQ(Range("bytes=-5", 100), "95+5");
  EXPECT_EQ(Range("bytes=-500", 100), "0+100");
  EXPECT_EQ(Range("bytes=100-", 100), "kInvalidRange");
  EXPECT_EQ(Range("bytes=-0", 100), "kInvalidRange");
  EXPECT_EQ(Range("bytes=0-", 0), "kInvalidRange");
  // Syntactically invalid or multi-range headers are ignored, as S3 does.
  EXPECT_EQ(Range("bytes=5-1", 100), "whole");
  EXPECT_EQ(Range("bytes=a-b", 100), "whole");
  EXPECT_EQ(Range("items=0-1", 100), "whole");
  EXPECT_EQ(Range("bytes=0-1,5-6", 100), "whole");
  EXPECT_EQ(Range("", 100), "whole");
}

TEST(Headers, Etags) {
  EXPECT_EQ(QuoteEtag("abc"), "\"abc\"");
  EXPECT_EQ(UnquoteEtag("\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("W/\"abc\""), "abc");
  EXPECT_EQ(UnquoteEtag("abc"), "abc");
}

TEST(Headers, Tagging) {
  auto t = ParseTaggingHeader("a=1&b%20c=d+e&empty=");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[1].first, "b c");
  EXPECT_EQ((*t)[1].second, "d e");
  EXPECT_EQ(ParseTaggingHeader("a=1&a=2").status().code(), Err::kInvalidTag);
  EXPECT_EQ(ParseTaggingHeader(std::string(129, 'k') + "=v").status().code(), Err::kInvalidTag);
  std::string eleven;
  for (int i = 0; i < 11; i++) eleven += "k" + std::to_string(i) + "=v&";
  EXPECT_EQ(ParseTaggingHeader(eleven).status().code(), Err::kInvalidTag);
}

}  // namespace
}  // namespace sluice::s3
