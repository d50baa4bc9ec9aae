// compat: encryption
#include "s3/sse.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <random>

#include "common/frame_cipher.h"
#include "common/hash.h"
#include "common/strings.h"

namespace sluice::s3 {
namespace {

class CountingRandom final : public io::Random {
 public:
  void Fill(void* buf, size_t n) override {
    auto* p = static_cast<unsigned char*>(buf);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(rng_());
  }

 private:
  std::mt19937 rng_{42};
};

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// The inner store's side: the bytes as stored, appended in the shape it asks for.
class StringWriter final : public storage::DataWriter {
 public:
  StringWriter(std::string* out, size_t piece) : out_(out), piece_(piece) {}
  const std::string& id() const override { return id_; }
  uint64_t size() const override { return out_->size(); }
  Shape shape() const override { return {false, piece_, 4096}; }
  Status Append(const void* data, size_t n) override {
    if (last_was_short_) return Status(Err::kInternal, "an append after a short one");
    if (piece_ && n != piece_) last_was_short_ = true;
    out_->append(static_cast<const char*>(data), n);
    return Status::Ok();
  }
  Status Commit() override {
    committed = true;
    return Status::Ok();
  }
  bool committed = false;

 private:
  std::string* out_;
  size_t piece_;
  std::string id_ = "data-1";
  bool last_was_short_ = false;
};

class StringReader final : public storage::DataReader {
 public:
  explicit StringReader(const std::string* bytes) : bytes_(bytes) {}
  uint64_t Size() const override { return bytes_->size(); }
  Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    *got = offset >= bytes_->size() ? 0 : std::min<size_t>(n, bytes_->size() - offset);
    std::memcpy(buf, bytes_->data() + offset, *got);
    return Status::Ok();
  }

 private:
  const std::string* bytes_;
};

std::string Encrypt(const std::string& plain, const std::string& key, size_t piece,
                    size_t append_size) {
  std::string stored;
  auto w = EncryptingWriter(std::make_unique<StringWriter>(&stored, piece), key);
  for (size_t at = 0; at < plain.size(); at += append_size)
    EXPECT_TRUE(w->Append(plain.data() + at, std::min(append_size, plain.size() - at)).ok());
  EXPECT_EQ(w->size(), plain.size());
  EXPECT_TRUE(w->Commit().ok());
  return stored;
}

std::string ReadBack(const std::string& stored, const std::string& key, uint64_t offset, size_t n,
                     Status* st) {
  auto r = DecryptingReader(std::make_unique<StringReader>(&stored), key, "data-1", nullptr);
  std::string out(n, '\0');
  size_t got = 0;
  *st = r->Read(offset, out.data(), n, &got);
  out.resize(got);
  return out;
}

TEST(SseFrames, RoundTripsWholeAndRangedInEveryShape) {
  const std::string key = Bytes(32, 5);
  const size_t F = FrameCipher::kFramePlain;
  for (size_t size : {size_t{0}, size_t{1}, F - 1, F, F + 1, 3 * F + 12345}) {
    for (size_t piece : {size_t{0}, size_t{4096}, size_t{1} << 20}) {
      for (size_t append : {size_t{1000}, F, size_t{300000}}) {
        const std::string plain = Bytes(size, static_cast<uint32_t>(size));
        const std::string stored = Encrypt(plain, key, piece, append);
        ASSERT_EQ(stored.size(), FrameCipher::StoredSize(size));
        if (size >= 64) {
          EXPECT_EQ(stored.find(plain.substr(size / 2 - 32, 32)), std::string::npos);
        }
        Status st;
        EXPECT_EQ(ReadBack(stored, key, 0, size, &st), plain);
        EXPECT_TRUE(st.ok()) << st.ToString();
        for (uint64_t from : {uint64_t{0}, uint64_t{F - 1}, uint64_t{F}, uint64_t{size / 3}}) {
          if (from >= size) continue;
          const size_t n = std::min<size_t>(size - from, F + 7);
          EXPECT_EQ(ReadBack(stored, key, from, n, &st), plain.substr(from, n));
          EXPECT_TRUE(st.ok());
        }
      }
    }
  }
}

TEST(SseFrames, AlteredTruncatedOrWrongKeyDataNeverReadsBack) {
  const std::string key = Bytes(32, 5), plain = Bytes(3 * FrameCipher::kFramePlain + 10, 6);
  const std::string stored = Encrypt(plain, key, 0, 65536);
  Status st;
  std::string bad = stored;
  bad[FrameCipher::kFrameStored + 10] ^= 1;                          // the second frame
  EXPECT_EQ(ReadBack(bad, key, 0, 100, &st), plain.substr(0, 100));  // the first still opens
  ReadBack(bad, key, FrameCipher::kFramePlain + 5, 10, &st);
  EXPECT_EQ(st.code(), Err::kCorruption);
  // Cut after whole frames: the last frame left is not marked last.
  std::string cut = stored.substr(0, 2 * FrameCipher::kFrameStored);
  ReadBack(cut, key, FrameCipher::kFramePlain + 5, 10, &st);
  EXPECT_EQ(st.code(), Err::kCorruption);
  ReadBack(stored, Bytes(32, 7), 0, 10, &st);
  EXPECT_EQ(st.code(), Err::kCorruption);
  // A torn run (no room for a tag) reads as empty, so callers see it is short.
  std::string torn = stored.substr(0, FrameCipher::kFrameStored + 3);
  auto t = DecryptingReader(std::make_unique<StringReader>(&torn), key, "data-1", nullptr);
  EXPECT_EQ(t->Size(), 0u);
}

TEST(SseKeys, KeyringParsesFormatsAndRefusesBadFiles) {
  CountingRandom rnd;
  std::vector<SseKeyring::Key> keys = {SseKeyring::Generate({}, &rnd)};
  keys.push_back(SseKeyring::Generate(keys, &rnd));
  auto ring = SseKeyring::Parse(SseKeyring::Format(keys));
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ(ring->current().id, keys[1].id);
  ASSERT_NE(ring->Find(keys[0].id), nullptr);
  EXPECT_EQ(ring->Find(keys[0].id)->bytes, keys[0].bytes);
  EXPECT_FALSE(SseKeyring::Parse("").ok());
  EXPECT_FALSE(SseKeyring::Parse("# only a comment\n").ok());
  EXPECT_FALSE(SseKeyring::Parse("k1 " + Base64Encode("short") + "\n").ok());
  EXPECT_FALSE(SseKeyring::Parse("k1\n").ok());
  const std::string line = "k1 " + Base64Encode(Bytes(32, 1)) + "\n";
  EXPECT_FALSE(SseKeyring::Parse(line + line).ok());
}

TEST(SseKeys, ObjectKeysOpenOnlyWithTheRightKeys) {
  CountingRandom rnd;
  auto ring = SseKeyring::Parse(SseKeyring::Format({SseKeyring::Generate({}, &rnd)}));
  ASSERT_TRUE(ring.ok());
  auto s3 = NewObjectKey(SseRequest{SseMode::kS3, "", ""}, &*ring, &rnd);
  ASSERT_TRUE(s3.ok());
  auto rec = SseRecord::Decode(s3->first.Encode());
  ASSERT_TRUE(rec.ok());
  auto key = ObjectKeyFor(*rec, SseRequest{}, &*ring);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, s3->second);
  EXPECT_EQ(ObjectKeyFor(*rec, SseRequest{}, nullptr).status().code(), Err::kInternal);
  // A later master key: the object still opens with the one that sealed it.
  std::vector<SseKeyring::Key> keys = ring->keys();
  keys.push_back(SseKeyring::Generate(keys, &rnd));
  auto rotated = SseKeyring::Parse(SseKeyring::Format(keys));
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(*ObjectKeyFor(*rec, SseRequest{}, &*rotated), s3->second);
  auto ring2 = SseKeyring::Parse(SseKeyring::Format({keys[1]}));
  EXPECT_EQ(ObjectKeyFor(*rec, SseRequest{}, &*ring2).status().code(), Err::kInternal);
  EXPECT_EQ(NewObjectKey(SseRequest{SseMode::kS3, "", ""}, nullptr, &rnd).status().code(),
            Err::kNotImplemented);

  const std::string customer = Bytes(32, 3);
  SseRequest c{SseMode::kCustomer, customer, Base64Encode(Md5(customer))};
  auto made = NewObjectKey(c, nullptr, &rnd);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->first.Encode().find(Base64Encode(customer)), std::string::npos);
  auto crec = SseRecord::Decode(made->first.Encode());
  ASSERT_TRUE(crec.ok());
  EXPECT_EQ(*ObjectKeyFor(*crec, c, nullptr), made->second);
  EXPECT_EQ(ObjectKeyFor(*crec, SseRequest{}, nullptr).status().code(), Err::kInvalidRequest);
  const std::string other = Bytes(32, 4);
  SseRequest wrong{SseMode::kCustomer, other, Base64Encode(Md5(other))};
  EXPECT_EQ(ObjectKeyFor(*crec, wrong, nullptr).status().code(), Err::kAccessDenied);
  // Customer headers on a plain object.
  EXPECT_EQ(ObjectKeyFor(SseRecord{}, c, nullptr).status().code(), Err::kInvalidRequest);
  EXPECT_EQ(*ObjectKeyFor(SseRecord{}, SseRequest{}, nullptr), "");
  for (const char* bad : {"2 S3 a b c", "1 X", "1 S3 !! k s", "1 C ", "1 S3 AAAA k s"})
    EXPECT_EQ(SseRecord::Decode(bad).status().code(), Err::kCorruption) << bad;
}

// A request with these headers; the fields live as long as the holder.
struct Req {
  boost::beast::http::fields fields;
  std::unique_ptr<http::Request> request;
  const http::Request& operator*() const { return *request; }
};
std::unique_ptr<Req> WithHeaders(std::vector<std::pair<std::string, std::string>> h) {
  auto r = std::make_unique<Req>();
  for (auto& [k, v] : h) r->fields.insert(k, v);
  r->request = std::make_unique<http::Request>(r->fields, "PUT", "/b/k");
  return r;
}

TEST(SseHeaders, WriteAndReadHeadersParseAsS3Does) {
  const std::string key = Bytes(32, 8);
  const std::string k64 = Base64Encode(key), md5 = Base64Encode(Md5(key));
  auto s3 = ParseWriteSse(**WithHeaders({{"x-amz-server-side-encryption", "AES256"}}));
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->mode, SseMode::kS3);
  EXPECT_EQ(
      ParseWriteSse(**WithHeaders({{"x-amz-server-side-encryption", "aws:kms"}})).status().code(),
      Err::kNotImplemented);
  EXPECT_EQ(ParseWriteSse(**WithHeaders({{"x-amz-server-side-encryption", "AES"}})).status().code(),
            Err::kInvalidArgument);
  auto c =
      ParseWriteSse(**WithHeaders({{"x-amz-server-side-encryption-customer-algorithm", "AES256"},
                                   {"x-amz-server-side-encryption-customer-key", k64},
                                   {"x-amz-server-side-encryption-customer-key-md5", md5}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mode, SseMode::kCustomer);
  EXPECT_EQ(c->customer_key, key);
  EXPECT_EQ(
      ParseReadSse(**WithHeaders(
                       {{"x-amz-server-side-encryption-customer-algorithm", "AES256"},
                        {"x-amz-server-side-encryption-customer-key", k64},
                        {"x-amz-server-side-encryption-customer-key-md5", Base64Encode(Md5("x"))}}))
          .status()
          .code(),
      Err::kInvalidArgument);
  EXPECT_EQ(ParseReadSse(**WithHeaders({{"x-amz-server-side-encryption-customer-key", k64}}))
                .status()
                .code(),
            Err::kInvalidArgument);
  EXPECT_EQ(ParseReadSse(**WithHeaders({})).value().mode, SseMode::kNone);
  auto src = ParseCopySourceSse(
      **WithHeaders({{"x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"},
                     {"x-amz-copy-source-server-side-encryption-customer-key", k64},
                     {"x-amz-copy-source-server-side-encryption-customer-key-md5", md5}}));
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(src->customer_key, key);
}

}  // namespace
}  // namespace sluice::s3
