#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "auth/sigv4.h"
#include "common/checksum.h"
#include "common/strings.h"
#include "s3/aws_chunked_reader.h"

namespace sluice::s3 {
namespace {

// Serves a fixed body in small pieces, as a socket would.
class StringBody final : public http::Body {
 public:
  explicit StringBody(std::string s, size_t piece = 1000) : s_(std::move(s)), piece_(piece) {}
  Task<Result<size_t>> Read(char* buf, size_t n) override {
    size_t k = std::min({n, piece_, s_.size() - pos_});
    std::memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    co_return k;
  }
  bool finished() const override { return pos_ == s_.size(); }
  uint64_t bytes_read() const override { return pos_; }

 private:
  std::string s_;
  size_t pos_ = 0;
  size_t piece_;
};

struct Decoded {
  Status status;
  std::string data;
  std::vector<std::pair<std::string, std::string>> trailers;
};

Decoded Decode(std::string body, std::optional<AwsChunkedParser::Signing> signing, bool trailer) {
  boost::asio::io_context ioc;
  StringBody b(std::move(body));
  AwsChunkedReader reader(b, std::move(signing), trailer);
  Decoded out;
  auto fut = boost::asio::co_spawn(
      ioc,
      [&]() -> Task<void> {
        char buf[7000];
        for (;;) {
          auto r = co_await reader.Read(buf, sizeof buf);
          if (!r.ok()) {
            out.status = r.status();
            co_return;
          }
          if (*r == 0) break;
          out.data.append(buf, *r);
        }
        out.trailers = reader.trailers();
      },
      boost::asio::use_future);
  ioc.run();
  fut.get();
  return out;
}

const std::string kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

AwsChunkedParser::Signing AwsExampleSigning() {
  return {auth::DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3"), "20130524T000000Z",
          "20130524/us-east-1/s3/aws4_request",
          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"};
}

// The example of AWS's "Transferring Payload in Multiple Chunks" page: 66,560 bytes of 'a'
// in chunks of 65,536 and 1,024 bytes.
std::string AwsExampleBody() {
  return "10000;chunk-signature="
         "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature="
         "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
}

// compat: aws-chunked
TEST(AwsChunked, AwsExampleSignedChunks) {
  Decoded d = Decode(AwsExampleBody(), AwsExampleSigning(), false);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.data, std::string(66560, 'a'));
}

TEST(AwsChunked, TamperedChunkIsRefused) {
  std::string body = AwsExampleBody();
  body[200] = 'b';
  Decoded d = Decode(body, AwsExampleSigning(), false);
  EXPECT_EQ(d.status.code(), Err::kSignatureDoesNotMatch);
  // Reordered chunks break the chain too.
  Decoded wrong_seed = Decode(
      AwsExampleBody(),
      [] {
        auto s = AwsExampleSigning();
        s.seed_signature[0] = '0';
        return s;
      }(),
      false);
  EXPECT_EQ(wrong_seed.status.code(), Err::kSignatureDoesNotMatch);
}

TEST(AwsChunked, UnsignedTrailer) {
  std::string crc = Base64Encode(ComputeChecksum(ChecksumAlgo::kCrc32, "hello world"));
  Decoded d = Decode("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n",
                     std::nullopt, true);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.data, "hello world");
  ASSERT_EQ(d.trailers.size(), 1u);
  EXPECT_EQ(d.trailers[0].first, "x-amz-checksum-crc32");
  EXPECT_EQ(d.trailers[0].second, crc);
}

TEST(AwsChunked, SignedTrailer) {
  auto sig = AwsExampleSigning();
  auto chunk_sig = [&](const std::string& prev, const std::string& data) {
    std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + sig.amz_date + "\n" + sig.scope + "\n" + prev +
                      "\n" + Sha256Hex("") + "\n" + Sha256Hex(data);
    return HexEncode(HmacSha256(sig.key, sts));
  };
  std::string s1 = chunk_sig(sig.seed_signature, "hello");
  std::string s0 = chunk_sig(s1, "");
  std::string trailer = "x-amz-checksum-crc32:NhCmhg==\n";
  std::string sts = "AWS4-HMAC-SHA256-TRAILER\n" + sig.amz_date + "\n" + sig.scope + "\n" + s0 +
                    "\n" + Sha256Hex(trailer);
  std::string tsig = HexEncode(HmacSha256(sig.key, sts));
  std::string body = "5;chunk-signature=" + s1 + "\r\nhello\r\n0;chunk-signature=" + s0 +
                     "\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:" + tsig +
                     "\r\n\r\n";
  Decoded d = Decode(body, sig, true);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.data, "hello");
  std::string bad = body;
  bad.replace(bad.find("NhCmhg=="), 8, "AAAAAA==");
  EXPECT_EQ(Decode(bad, sig, true).status.code(), Err::kSignatureDoesNotMatch);
}

TEST(AwsChunked, MalformedFraming) {
  EXPECT_EQ(Decode("zz\r\nhello\r\n0\r\n\r\n", std::nullopt, true).status.code(),
            Err::kIncompleteBody);
  EXPECT_EQ(Decode("5\r\nhelloXX0\r\n\r\n", std::nullopt, true).status.code(),
            Err::kIncompleteBody);
  EXPECT_EQ(Decode("5\r\nhel", std::nullopt, true).status.code(), Err::kIncompleteBody);
  EXPECT_EQ(Decode("5\r\nhello\r\n0\r\nno-colon\r\n\r\n", std::nullopt, true).status.code(),
            Err::kIncompleteBody);
  EXPECT_EQ(Decode(std::string(10000, '1'), std::nullopt, true).status.code(),
            Err::kIncompleteBody);
  // Signed streams need a signature on every chunk.
  EXPECT_EQ(Decode("5\r\nhello\r\n0\r\n\r\n", AwsExampleSigning(), false).status.code(),
            Err::kIncompleteBody);
}

// compat: checksums
TEST(Checksums, StandardCheckValues) {
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kCrc32, "123456789")), "cbf43926");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kCrc32c, "123456789")), "e3069283");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kCrc64Nvme, "123456789")), "ae8b14860a799888");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgo::kSha1, "abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(Base64Encode(ComputeChecksum(ChecksumAlgo::kCrc32, "hello")), "NhCmhg==");
  Checksummer c(ChecksumAlgo::kCrc32c);  // incremental equals one-shot
  c.Update("12345", 5);
  c.Update("6789", 4);
  EXPECT_EQ(HexEncode(c.Finish()), "e3069283");
  EXPECT_EQ(*ChecksumAlgoFromName("crc64nvme"), ChecksumAlgo::kCrc64Nvme);
  EXPECT_EQ(ChecksumHeaderName(ChecksumAlgo::kCrc32c), "x-amz-checksum-crc32c");
}

}  // namespace
}  // namespace sluice::s3
