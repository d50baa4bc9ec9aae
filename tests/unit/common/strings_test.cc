#include "common/strings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

namespace sluice {
namespace {

TEST(Strings, HexRoundTrip) {
  EXPECT_EQ(HexEncode(std::string("\x01\xab\xff", 3)), "01abff");
  EXPECT_EQ(*HexDecode("01abFF"), std::string("\x01\xab\xff", 3));
  EXPECT_FALSE(HexDecode("abc"));
  EXPECT_FALSE(HexDecode("zz"));
}

TEST(Strings, UriEncodeFollowsAws) {
  EXPECT_EQ(UriEncode("a b+c/d~e_f.g-h", false), "a%20b%2Bc/d~e_f.g-h");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(UriEncode("\xf0\x9f\x98\x80", true), "%F0%9F%98%80");
}

TEST(Strings, UriDecode) {
  EXPECT_EQ(*UriDecode("a%20b+c"), "a b+c");
  EXPECT_EQ(*UriDecode("a%20b+c", true), "a b c");
  EXPECT_FALSE(UriDecode("%"));
  EXPECT_FALSE(UriDecode("%4"));
  EXPECT_FALSE(UriDecode("%zz"));
  EXPECT_EQ(*UriDecode("%41"), "A");
  EXPECT_EQ(*UriDecode(""), "");
  EXPECT_EQ(*UriDecode("+", true), " ");
  EXPECT_EQ(*UriDecode("%2b+", true), "+ ");
  EXPECT_FALSE(UriDecode("ab%2"));
  EXPECT_FALSE(UriDecode("ab%", true));
}

// The byte-at-a-time rule UriDecode must keep, against random strings drawn from the
// characters that matter ('%', '+', hex digits, others).
TEST(Strings, UriDecodeMatchesTheBytewiseRule) {
  auto reference = [](std::string_view s, bool plus) -> std::optional<std::string> {
    auto hex = [](char c) {
      return (c >= '0' && c <= '9')   ? c - '0'
             : (c >= 'a' && c <= 'f') ? c - 'a' + 10
             : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                      : -1;
    };
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
      if (s[i] == '%') {
        if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return std::nullopt;
        out.push_back(static_cast<char>(hex(s[i + 1]) << 4 | hex(s[i + 2])));
        i += 2;
      } else {
        out.push_back(s[i] == '+' && plus ? ' ' : s[i]);
      }
    }
    return out;
  };
  const std::string alphabet = "%+0aF9gz/ ";
  uint32_t x = 12345;
  for (int n = 0; n < 20000; ++n) {
    std::string in;
    x = x * 1103515245 + 12345;
    size_t len = (x >> 16) % 12;
    for (size_t i = 0; i < len; ++i) {
      x = x * 1103515245 + 12345;
      in += alphabet[(x >> 16) % alphabet.size()];
    }
    for (bool plus : {false, true}) {
      ASSERT_EQ(UriDecode(in, plus), reference(in, plus)) << "'" << in << "' plus=" << plus;
    }
  }
}

TEST(Strings, Base64) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*Base64Decode("Zg=="), "f");
  EXPECT_EQ(*Base64Decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(Base64Decode("Zg="));
  EXPECT_FALSE(Base64Decode("!!!!"));
}

TEST(Strings, ParseUint) {
  EXPECT_EQ(*ParseUint("0"), 0u);
  EXPECT_EQ(*ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint("18446744073709551616"));
  EXPECT_FALSE(ParseUint("-1"));
  EXPECT_FALSE(ParseUint(""));
  EXPECT_FALSE(ParseUint("1 "));
}

TEST(Strings, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(Strings, Dates) {
  const int64_t t = 1369353600LL * 1000000;  // 2013-05-24T00:00:00Z
  EXPECT_EQ(FormatAmzDate(t), "20130524T000000Z");
  EXPECT_EQ(FormatHttpDate(t), "Fri, 24 May 2013 00:00:00 GMT");
  EXPECT_EQ(FormatIso8601(t + 123000), "2013-05-24T00:00:00.123Z");
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(253402300799999999), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIso8601(1733580000000000 + 45296789000), "2024-12-08T02:34:56.789Z");
  EXPECT_EQ(*ParseAmzDate("20130524T000000Z"), t);
  EXPECT_EQ(*ParseHttpDate("Fri, 24 May 2013 00:00:00 GMT"), t);
  EXPECT_EQ(*ParseHttpDate("Friday, 24-May-13 00:00:00 GMT"), t);
  EXPECT_EQ(*ParseHttpDate("Fri May 24 00:00:00 2013"), t);
  EXPECT_FALSE(ParseHttpDate("yesterday"));
  // Numbers too long for their field, which once went to an unbounded %d, and negative ones.
  EXPECT_FALSE(ParseHttpDate("Fri, 99999999999999999999 May 2013 00:00:00 GMT"));
  EXPECT_FALSE(ParseHttpDate("Fri, 24 May 99999999999 00:00:00 GMT"));
  EXPECT_FALSE(ParseHttpDate("Fri, 24 May 2013 -1:00:00 GMT"));
  EXPECT_FALSE(ParseHttpDate("Fri, 24 May 2013 00:-1:00 GMT"));
  EXPECT_FALSE(ParseHttpDate("Fri May 24 00:00:-1 2013"));
  EXPECT_FALSE(ParseAmzDate("2013-05-24T00:00:00Z"));
  EXPECT_FALSE(ParseAmzDate("20131324T000000Z"));
}

TEST(Strings, CaseHelpers) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-MD5", "content-md5"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "ab"));
  EXPECT_TRUE(StartsWithIgnoreCase("X-Amz-Meta-Foo", "x-amz-meta-"));
  EXPECT_EQ(ToLower("AbC"), "abc");
  EXPECT_EQ(Trim("  a b \t"), "a b");
}

// The hand-written dates (calendar by arithmetic, digits by hand) agree with gmtime_r and
// strftime across the years, before 1970 too, and on the days around leap days.
TEST(Strings, DatesMatchGmtimeAndStrftime) {
  auto check = [](int64_t secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm;
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char want[64];
    std::strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    const int64_t micros = secs * 1000000 + (secs >= 0 ? 999999 : 0);
    ASSERT_EQ(FormatHttpDate(micros), want) << secs;
    std::strftime(want, sizeof want, "%Y%m%dT%H%M%SZ", &tm);
    ASSERT_EQ(FormatAmzDate(micros), want) << secs;
  };
  for (int64_t secs = 0; secs < 253402300799LL; secs += 7919LL * 3607) check(secs);
  for (int64_t secs = -30000000000LL; secs < 0; secs += 7919LL * 3613) check(secs);  // 1019 on
  for (int year : {1900, 1969, 1970, 1972, 2000, 2023, 2024, 2100, 2400}) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = 1;
    tm.tm_mday = 28;
    const int64_t feb28 = static_cast<int64_t>(timegm(&tm));
    for (int64_t s = feb28 - 86400; s < feb28 + 3 * 86400; s += 3600) check(s);
    check(feb28 + 86400 - 1);
  }
  check(-1);
}

// IsUriCanonical is the fast path of SigV4's canonicalisation: it must say yes exactly
// when decoding and re-encoding gives the input back.
TEST(Strings, IsUriCanonicalAgreesWithDecodeEncode) {
  auto slow = [](std::string_view s, bool encode_slash) {
    auto d = UriDecode(s);
    return d && UriEncode(*d, encode_slash) == s;
  };
  for (std::string_view s :
       {"", "abc", "a%20b", "a%2fb", "a%2Fb", "a/b", "%41", "%7E", "~", "%", "%4", "%G1", "a+b",
        "%2B", "AKIA%2F20130524%2Fus-east-1", "%E2%82%AC"}) {
    EXPECT_EQ(IsUriCanonical(s, true), slow(s, true)) << s;
    EXPECT_EQ(IsUriCanonical(s, false), slow(s, false)) << s;
  }
  // Random strings over an alphabet dense in the characters that matter.
  const char alphabet[] = "aZ09-_.~/%+ 2F4e1AG";
  uint32_t x = 12345;
  for (int n = 0; n < 20000; n++) {
    std::string s;
    int len = static_cast<int>(x % 9);
    for (int i = 0; i < len; i++) {
      x = x * 1103515245 + 12345;
      s.push_back(alphabet[(x >> 16) % (sizeof alphabet - 1)]);
    }
    x = x * 1103515245 + 12345;
    EXPECT_EQ(IsUriCanonical(s, true), slow(s, true)) << s;
    EXPECT_EQ(IsUriCanonical(s, false), slow(s, false)) << s;
  }
}

TEST(Strings, SplitKeepsEveryPiece) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(Split("", ' '), V{""});
  EXPECT_EQ(Split("a", ' '), V{"a"});
  EXPECT_EQ(Split("a b", ' '), (V{"a", "b"}));
  EXPECT_EQ(Split(" a  b ", ' '), (V{"", "a", "", "b", ""}));
  EXPECT_EQ(Split("x\ny\n", '\n'), (V{"x", "y", ""}));
}

}  // namespace
}  // namespace sluice
