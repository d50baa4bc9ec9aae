// The streams of encrypted object data (s3/sse.h): a writer that encrypts and a reader
// that decrypts, in FrameCipher frames.
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/async.h"
#include "common/frame_cipher.h"
#include "common/hash.h"
#include "s3/sse.h"

namespace sluice::s3 {
namespace {
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
