#include "s3/sse.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "auth/secret_box.h"
#include "common/async.h"
#include "common/frame_cipher.h"
#include "common/hash.h"
#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr size_t kSaltSize = 16;
constexpr char kSealAad[] = "sluice sse-s3 object key";

Status BadSse(std::string msg) { return Error(Err::kInvalidArgument, std::move(msg)); }

std::vector<std::string_view> SplitOn(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t next = s.find(sep, at);
    out.push_back(
        s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

// The SSE-C three, under `prefix` ("x-amz-" or "x-amz-copy-source-").
Result<SseRequest> ParseCustomer(const http::Request& req, std::string_view prefix) {
  const std::string p(prefix);
  std::string_view algo = req.header(p + "server-side-encryption-customer-algorithm");
  std::string_view key = req.header(p + "server-side-encryption-customer-key");
  std::string_view md5 = req.header(p + "server-side-encryption-customer-key-md5");
  SseRequest out;
  if (algo.empty() && key.empty() && md5.empty()) return out;
  if (algo.empty())
    return BadSse(
        "Requests specifying Server Side Encryption with Customer provided keys must provide a "
        "valid encryption algorithm.");
  if (algo != "AES256")
    return BadSse("The encryption algorithm " + std::string(algo) +
                  " is not supported: SSE-C takes AES256");
  if (key.empty())
    return BadSse(
        "Requests specifying Server Side Encryption with Customer provided keys must provide an "
        "appropriate secret key.");
  auto raw = Base64Decode(key);
  if (!raw || raw->size() != FrameCipher::kKeySize)
    return BadSse("The secret key was invalid for the specified algorithm: it must be 256 bits.");
  if (md5.empty())
    return BadSse(
        "Requests specifying Server Side Encryption with Customer provided keys must provide the "
        "client calculated MD5 of the secret key.");
  auto want = Base64Decode(md5);
  if (!want || *want != Md5(*raw))
    return BadSse("The calculated MD5 hash of the key did not match the hash that was provided.");
  out.mode = SseMode::kCustomer;
  out.customer_key = std::move(*raw);
  out.key_md5 = std::string(md5);
  return out;
}

std::string CustomerCheck(const std::string& key, const std::string& salt) {
  return HmacSha256(key, "sluice sse-c check" + salt);
}

std::string CustomerObjectKey(const std::string& key, const std::string& salt) {
  return HmacSha256(key, "sluice sse-c object key" + salt);
}

// --- the writer -------------------------------------------------------------------------

class Encrypting final : public storage::DataWriter {
 public:
  Encrypting(std::unique_ptr<storage::DataWriter> inner, std::string_view object_key)
      : inner_(std::move(inner)), cipher_(HmacSha256(object_key, inner_->id())) {
    const Shape s = inner_->shape();
    out_piece_ = s.piece ? s.piece : 1 << 20;
    out_align_ = std::max<size_t>(s.align, alignof(std::max_align_t));
    out_.reset(static_cast<char*>(
        std::aligned_alloc(out_align_, (out_piece_ + out_align_ - 1) / out_align_ * out_align_)));
    frame_.reset(new char[FrameCipher::kFramePlain]);
    sealed_.reset(new char[FrameCipher::kFrameStored]);
  }
  const std::string& id() const override { return inner_->id(); }
  uint64_t size() const override { return plain_; }
  Shape shape() const override {
    Shape s;
    s.blocks = inner_->shape().blocks;
    return s;
  }
  Status Append(const void* data, size_t n) override {
    if (!out_) return Status(Err::kInternal, "out of memory for an encryption buffer");
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      // A full frame is sealed only once more bytes follow it: the last frame is marked.
      if (held_ == FrameCipher::kFramePlain) SLUICE_RETURN_IF_ERROR(SealFrame(false));
      const size_t take = std::min(n, FrameCipher::kFramePlain - held_);
      std::memcpy(frame_.get() + held_, p, take);
      held_ += take;
      p += take;
      n -= take;
      plain_ += take;
    }
    return Status::Ok();
  }
  Status Commit() override {
    if (held_ > 0) SLUICE_RETURN_IF_ERROR(SealFrame(true));
    if (used_ > 0) SLUICE_RETURN_IF_ERROR(inner_->Append(out_.get(), used_));
    used_ = 0;
    OPENSSL_cleanse(frame_.get(), FrameCipher::kFramePlain);
    return inner_->Commit();
  }
  ~Encrypting() override {
    if (frame_) OPENSSL_cleanse(frame_.get(), FrameCipher::kFramePlain);
  }

 private:
  Status SealFrame(bool last) {
    const size_t stored = held_ + FrameCipher::kTag;
    cipher_.Seal(index_++, last, frame_.get(), held_, sealed_.get());
    held_ = 0;
    // Into the inner writer in its own piece size and alignment.
    for (size_t off = 0; off < stored;) {
      const size_t take = std::min(stored - off, out_piece_ - used_);
      std::memcpy(out_.get() + used_, sealed_.get() + off, take);
      used_ += take;
      off += take;
      if (used_ == out_piece_) {
        SLUICE_RETURN_IF_ERROR(inner_->Append(out_.get(), used_));
        used_ = 0;
      }
    }
    return Status::Ok();
  }

  std::unique_ptr<storage::DataWriter> inner_;
  FrameCipher cipher_;
  size_t out_piece_ = 0, out_align_ = 0, used_ = 0, held_ = 0;
  std::unique_ptr<char, decltype(&std::free)> out_{nullptr, &std::free};
  std::unique_ptr<char[]> frame_, sealed_;
  uint64_t index_ = 0, plain_ = 0;
};

// --- the reader -------------------------------------------------------------------------

class Decrypting final : public storage::DataReader {
 public:
  Decrypting(std::unique_ptr<storage::DataReader> inner, std::string_view object_key,
             const std::string& data_id, boost::asio::thread_pool* pool)
      : inner_(std::move(inner)),
        cipher_(HmacSha256(object_key, data_id)),
        data_id_(data_id),
        pool_(pool) {
    const uint64_t stored = inner_->Size();
    stored_ = stored;
    const uint64_t plain = FrameCipher::PlainSize(stored);
    // A torn run: as short as nothing, so the caller's size check reports it.
    plain_ = plain == UINT64_MAX ? 0 : plain;
  }
  uint64_t Size() const override { return plain_; }

  Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    *got = 0;
    if (offset >= plain_) return Status::Ok();
    n = static_cast<size_t>(std::min<uint64_t>(n, plain_ - offset));
    std::unique_ptr<char[]> stored(new char[FrameCipher::kFrameStored]);
    std::unique_ptr<char[]> plain(new char[FrameCipher::kFramePlain]);
    char* out = static_cast<char*>(buf);
    while (*got < n) {
      const uint64_t pos = offset + *got;
      const uint64_t frame = pos / FrameCipher::kFramePlain;
      const uint64_t at = frame * FrameCipher::kFrameStored;
      const size_t len =
          static_cast<size_t>(std::min<uint64_t>(FrameCipher::kFrameStored, stored_ - at));
      size_t have = 0;
      while (have < len) {
        size_t r = 0;
        SLUICE_RETURN_IF_ERROR(inner_->Read(at + have, stored.get() + have, len - have, &r));
        if (r == 0) return Status(Err::kCorruption, "data " + data_id_ + " ends mid-frame");
        have += r;
      }
      const bool last = at + len == stored_;
      Status opened = cipher_.Open(frame, last, stored.get(), len, plain.get());
      if (!opened.ok())
        return Status(Err::kCorruption, "data " + data_id_ + ": " + std::string(opened.message()));
      const size_t skip = static_cast<size_t>(pos - frame * FrameCipher::kFramePlain);
      const size_t take = std::min(len - FrameCipher::kTag - skip, n - *got);
      std::memcpy(out + *got, plain.get() + skip, take);
      *got += take;
    }
    OPENSSL_cleanse(plain.get(), FrameCipher::kFramePlain);
    return Status::Ok();
  }

  Task<Status> Send(storage::ByteSink& sink, uint64_t offset, uint64_t n,
                    size_t buffer) const override {
    // Whole frames at a time, read and decrypted on the pool.
    const size_t chunk =
        std::max<size_t>(buffer / FrameCipher::kFramePlain, 1) * FrameCipher::kFramePlain;
    const size_t cap = static_cast<size_t>(std::min<uint64_t>(n, chunk));
    std::unique_ptr<char[]> buf(new char[cap]);
    while (n > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n, cap));
      size_t got = 0;
      char* b = buf.get();
      Status s = Status::Ok();
      if (pool_) {
        Background<Status> job(
            *pool_, [this, offset, b, want, &got] { return Read(offset, b, want, &got); });
        s = co_await job.Wait();
      } else {
        s = Read(offset, b, want, &got);
      }
      SLUICE_CO_RETURN_IF_ERROR(s);
      if (got == 0) co_return Status(Err::kCorruption, "data shorter than its index entry");
      SLUICE_CO_RETURN_IF_ERROR(co_await sink.Write(std::string_view(b, got)));
      offset += got;
      n -= got;
    }
    OPENSSL_cleanse(buf.get(), cap);
    co_return Status::Ok();
  }

 private:
  std::unique_ptr<storage::DataReader> inner_;
  FrameCipher cipher_;
  std::string data_id_;
  boost::asio::thread_pool* pool_;
  uint64_t stored_ = 0, plain_ = 0;
};

}  // namespace

// --- the keyring ------------------------------------------------------------------------

Result<SseKeyring> SseKeyring::Parse(std::string_view text) {
  SseKeyring ring;
  size_t line_no = 0;
  for (std::string_view line : SplitOn(text, '\n')) {
    ++line_no;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    auto bytes = sp == std::string_view::npos ? std::nullopt : Base64Decode(Trim(line.substr(sp)));
    if (!bytes || bytes->size() != FrameCipher::kKeySize)
      return Error(Err::kInvalidArgument, "SSE key file, line " + std::to_string(line_no) +
                                              ": expected '<id> <base64 of 32 bytes>'");
    std::string id(line.substr(0, sp));
    if (ring.Find(id))
      return Error(Err::kInvalidArgument, "SSE key file, line " + std::to_string(line_no) +
                                              ": the id " + id + " is used twice");
    ring.keys_.push_back({std::move(id), std::move(*bytes)});
  }
  if (ring.keys_.empty()) return Error(Err::kInvalidArgument, "the SSE key file holds no key");
  return ring;
}

std::string SseKeyring::Format(const std::vector<Key>& keys) {
  std::string out =
      "# sluice SSE-S3 master keys: '<id> <base64>', the last one seals new objects' keys.\n"
      "# Keep every line: older keys still open the objects they sealed.\n";
  for (const auto& k : keys) out += k.id + " " + Base64Encode(k.bytes) + "\n";
  return out;
}

SseKeyring::Key SseKeyring::Generate(const std::vector<Key>& keys, io::Random* random) {
  Key k;
  k.bytes.resize(FrameCipher::kKeySize);
  random->Fill(k.bytes.data(), k.bytes.size());
  for (;;) {
    k.id = random->HexString(4);
    if (std::none_of(keys.begin(), keys.end(), [&](const Key& o) { return o.id == k.id; })) break;
  }
  return k;
}

const SseKeyring::Key* SseKeyring::Find(std::string_view id) const {
  for (const auto& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

// --- requests ---------------------------------------------------------------------------

Result<SseRequest> ParseWriteSse(const http::Request& req) {
  SLUICE_ASSIGN_OR_RETURN(SseRequest customer, ParseCustomer(req, "x-amz-"));
  std::string_view sse = req.header("x-amz-server-side-encryption");
  if (!sse.empty() && customer.mode != SseMode::kNone)
    return BadSse(
        "Server Side Encryption with Customer provided key is incompatible with the encryption "
        "method specified");
  if (customer.mode != SseMode::kNone) return customer;
  if (sse.empty()) return SseRequest{};
  if (sse == "AES256") return SseRequest{SseMode::kS3, "", ""};
  if (sse == "aws:kms" || sse == "aws:kms:dsse")
    return Error(Err::kNotImplemented,
                 "x-amz-server-side-encryption: " + std::string(sse) +
                     " asks for SSE-KMS, which this server does not implement (it has no key "
                     "management service); AES256 (SSE-S3) and SSE-C are implemented");
  return BadSse("The encryption method specified is not supported: " + std::string(sse));
}

Result<SseRequest> ParseReadSse(const http::Request& req) { return ParseCustomer(req, "x-amz-"); }

Result<SseRequest> ParseCopySourceSse(const http::Request& req) {
  return ParseCustomer(req, "x-amz-copy-source-");
}

// --- records ----------------------------------------------------------------------------

std::string SseRecord::Encode() const {
  if (mode == SseMode::kS3)
    return "1 S3 " + Base64Encode(salt) + " " + master_id + " " + sealed_key;
  if (mode == SseMode::kCustomer) return "1 C " + Base64Encode(salt) + " " + Base64Encode(check);
  return "";
}

Result<SseRecord> SseRecord::Decode(std::string_view encoded) {
  SseRecord r;
  if (encoded.empty()) return r;
  const std::vector<std::string_view> f = SplitOn(encoded, ' ');
  auto bad = [] { return Error(Err::kCorruption, "an object's encryption record is malformed"); };
  if (f.size() < 3 || f[0] != "1") return bad();
  auto salt = Base64Decode(f[2]);
  if (!salt || salt->size() != kSaltSize) return bad();
  r.salt = std::move(*salt);
  if (f[1] == "S3" && f.size() == 5) {
    r.mode = SseMode::kS3;
    r.master_id = std::string(f[3]);
    r.sealed_key = std::string(f[4]);
    return r;
  }
  if (f[1] == "C" && f.size() == 4) {
    auto check = Base64Decode(f[3]);
    if (!check) return bad();
    r.mode = SseMode::kCustomer;
    r.check = std::move(*check);
    return r;
  }
  return bad();
}

Result<std::pair<SseRecord, std::string>> NewObjectKey(const SseRequest& req,
                                                       const SseKeyring* keyring,
                                                       io::Random* random) {
  SseRecord rec;
  rec.mode = req.mode;
  rec.salt.resize(kSaltSize);
  random->Fill(rec.salt.data(), rec.salt.size());
  std::string key;
  if (req.mode == SseMode::kS3) {
    if (!keyring)
      return Error(Err::kNotImplemented, "SSE-S3 needs a master key file, which is not loaded");
    key.resize(FrameCipher::kKeySize);
    random->Fill(key.data(), key.size());
    const auto& master = keyring->current();
    rec.master_id = master.id;
    rec.sealed_key = auth::SecretBox(master.bytes, random).Seal(key, kSealAad + rec.salt);
  } else if (req.mode == SseMode::kCustomer) {
    rec.check = CustomerCheck(req.customer_key, rec.salt);
    key = CustomerObjectKey(req.customer_key, rec.salt);
  } else {
    return Error(Err::kInternal, "NewObjectKey without an encryption mode");
  }
  return std::pair{std::move(rec), std::move(key)};
}

Result<std::string> ObjectKeyFor(const SseRecord& rec, const SseRequest& req,
                                 const SseKeyring* keyring) {
  if (rec.mode == SseMode::kCustomer) {
    if (req.mode != SseMode::kCustomer)
      return Error(Err::kInvalidRequest,
                   "The object was stored using a form of Server Side Encryption. The correct "
                   "parameters must be provided to retrieve the object.");
    const std::string check = CustomerCheck(req.customer_key, rec.salt);
    if (check.size() != rec.check.size() ||
        CRYPTO_memcmp(check.data(), rec.check.data(), check.size()) != 0)
      return Error(Err::kAccessDenied,
                   "The provided SSE-C key is not the one the object was written with");
    return CustomerObjectKey(req.customer_key, rec.salt);
  }
  if (req.mode == SseMode::kCustomer)
    return Error(Err::kInvalidRequest,
                 "The encryption parameters are not applicable to this object.");
  if (rec.mode == SseMode::kNone) return std::string();
  if (!keyring) return Error(Err::kInternal, "an SSE-S3 object, and no master key file loaded");
  const SseKeyring::Key* master = keyring->Find(rec.master_id);
  if (!master)
    return Error(Err::kInternal, "an SSE-S3 object sealed by master key " + rec.master_id +
                                     ", which the key file no longer holds");
  // The box's random source only seals; opening needs none.
  auto key = auth::SecretBox(master->bytes, nullptr).Open(rec.sealed_key, kSealAad + rec.salt);
  if (!key.ok() || key->size() != FrameCipher::kKeySize)
    return Error(Err::kInternal,
                 "an SSE-S3 object's key does not open under master key " + rec.master_id);
  return std::move(key).value();
}

Result<std::string> ObjectKeyFor(std::string_view encoded, const SseRequest& req,
                                 const SseKeyring* keyring) {
  SLUICE_ASSIGN_OR_RETURN(SseRecord rec, SseRecord::Decode(encoded));
  return ObjectKeyFor(rec, req, keyring);
}

std::vector<std::pair<std::string, std::string>> SseResponseHeaders(const SseRecord& rec,
                                                                    const SseRequest& req) {
  if (rec.mode == SseMode::kS3) return {{"x-amz-server-side-encryption", "AES256"}};
  if (rec.mode == SseMode::kCustomer)
    return {{"x-amz-server-side-encryption-customer-algorithm", "AES256"},
            {"x-amz-server-side-encryption-customer-key-md5", req.key_md5}};
  return {};
}

std::unique_ptr<storage::DataWriter> EncryptingWriter(std::unique_ptr<storage::DataWriter> inner,
                                                      std::string_view object_key) {
  return std::make_unique<Encrypting>(std::move(inner), object_key);
}

std::unique_ptr<storage::DataReader> DecryptingReader(std::unique_ptr<storage::DataReader> inner,
                                                      std::string_view object_key,
                                                      const std::string& data_id,
                                                      boost::asio::thread_pool* pool) {
  return std::make_unique<Decrypting>(std::move(inner), object_key, data_id, pool);
}

}  // namespace sluice::s3
