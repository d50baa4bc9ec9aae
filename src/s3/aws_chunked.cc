#include "s3/aws_chunked.h"

#include <openssl/crypto.h>

#include <cstring>

#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr size_t kBufferSize = 64 * 1024;
constexpr size_t kMaxLine = 4096;
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Status Malformed(std::string what) {
  return Error(Err::kIncompleteBody, "malformed aws-chunked body: " + what);
}

Status BadSignature(std::string what) {
  return Error(Err::kSignatureDoesNotMatch, "The " + what +
                                                " signature we calculated does not match the "
                                                "signature you provided.");
}

bool SameSignature(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

AwsChunkedReader::AwsChunkedReader(http::Body& body, std::optional<Signing> signing, bool trailer)
    : body_(body), signing_(std::move(signing)), trailer_(trailer) {
  if (signing_) prev_signature_ = signing_->seed_signature;
}

Task<Status> AwsChunkedReader::Fill() {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  buf_.resize(old + kBufferSize);
  auto r = co_await body_.Read(buf_.data() + old, kBufferSize);
  if (!r.ok()) {
    buf_.resize(old);
    co_return r.status();
  }
  buf_.resize(old + *r);
  if (*r == 0) co_return Malformed("the body ended inside a chunk");
  co_return Status::Ok();
}

Task<Result<std::string>> AwsChunkedReader::ReadLine() {
  for (;;) {
    size_t nl = buf_.find("\r\n", pos_);
    if (nl != std::string::npos) {
      std::string line = buf_.substr(pos_, nl - pos_);
      pos_ = nl + 2;
      co_return line;
    }
    if (buf_.size() - pos_ > kMaxLine) co_return Malformed("a chunk header line is too long");
    SLUICE_CO_RETURN_IF_ERROR(co_await Fill());
  }
}

Status AwsChunkedReader::ParseChunkHeader(std::string_view line) {
  size_t semi = line.find(';');
  std::string_view hex = Trim(line.substr(0, semi));
  if (hex.empty() || hex.size() > 16) return Malformed("bad chunk size");
  uint64_t size = 0;
  for (char c : hex) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                             : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) return Malformed("bad chunk size");
    size = size * 16 + static_cast<uint64_t>(v);
  }
  chunk_signature_.clear();
  if (semi != std::string_view::npos) {
    std::string_view ext = line.substr(semi + 1);
    constexpr std::string_view kSig = "chunk-signature=";
    if (ext.starts_with(kSig)) chunk_signature_ = std::string(ext.substr(kSig.size()));
  }
  if (signing_ && chunk_signature_.empty()) return Malformed("a chunk has no chunk-signature");
  chunk_left_ = size;
  return Status::Ok();
}

Status AwsChunkedReader::VerifyChunk(const std::string& data_sha_hex) {
  if (!signing_) return Status::Ok();
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + signing_->amz_date + "\n" + signing_->scope +
                    "\n" + prev_signature_ + "\n" + kEmptySha + "\n" + data_sha_hex;
  std::string expected = HexEncode(HmacSha256(signing_->key, sts));
  if (!SameSignature(expected, chunk_signature_)) return BadSignature("chunk");
  prev_signature_ = std::move(expected);
  return Status::Ok();
}

Task<Status> AwsChunkedReader::ReadTrailers() {
  std::string canonical, trailer_signature;
  for (int lines = 0;; lines++) {
    if (lines > 64) co_return Malformed("too many trailing headers");
    SLUICE_CO_ASSIGN_OR_RETURN(std::string line, co_await ReadLine());
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string::npos) co_return Malformed("bad trailing header");
    std::string name = ToLower(Trim(std::string_view(line).substr(0, colon)));
    std::string value(Trim(std::string_view(line).substr(colon + 1)));
    if (name == "x-amz-trailer-signature") {
      trailer_signature = value;
      continue;
    }
    canonical += name + ":" + value + "\n";
    trailers_.emplace_back(std::move(name), std::move(value));
  }
  if (signing_) {
    if (trailer_signature.empty()) co_return Malformed("the trailer has no x-amz-trailer-signature");
    std::string sts = "AWS4-HMAC-SHA256-TRAILER\n" + signing_->amz_date + "\n" + signing_->scope +
                      "\n" + prev_signature_ + "\n" + Sha256Hex(canonical);
    if (!SameSignature(HexEncode(HmacSha256(signing_->key, sts)), trailer_signature))
      co_return BadSignature("trailer");
  }
  co_return Status::Ok();
}

Task<Result<size_t>> AwsChunkedReader::Read(char* out, size_t n) {
  for (;;) {
    switch (state_) {
      case State::kDone:
        co_return size_t{0};
      case State::kHeader: {
        SLUICE_CO_ASSIGN_OR_RETURN(std::string line, co_await ReadLine());
        SLUICE_CO_RETURN_IF_ERROR(ParseChunkHeader(line));
        if (chunk_left_ > 0) {
          state_ = State::kData;
          continue;
        }
        SLUICE_CO_RETURN_IF_ERROR(VerifyChunk(kEmptySha));  // the final, empty chunk
        if (trailer_) {
          SLUICE_CO_RETURN_IF_ERROR(co_await ReadTrailers());
        } else {
          SLUICE_CO_ASSIGN_OR_RETURN(std::string end, co_await ReadLine());
          if (!end.empty()) co_return Malformed("data after the final chunk");
        }
        state_ = State::kDone;
        co_return size_t{0};
      }
      case State::kData: {
        if (pos_ == buf_.size()) SLUICE_CO_RETURN_IF_ERROR(co_await Fill());
        size_t k = std::min<uint64_t>({n, chunk_left_, buf_.size() - pos_});
        std::memcpy(out, buf_.data() + pos_, k);
        if (signing_) chunk_sha_.Update(out, k);
        pos_ += k;
        chunk_left_ -= k;
        if (chunk_left_ == 0) {
          while (buf_.size() - pos_ < 2) SLUICE_CO_RETURN_IF_ERROR(co_await Fill());
          if (buf_.compare(pos_, 2, "\r\n") != 0) co_return Malformed("a chunk does not end with CRLF");
          pos_ += 2;
          if (signing_) SLUICE_CO_RETURN_IF_ERROR(VerifyChunk(chunk_sha_.FinishHex()));
          state_ = State::kHeader;
        }
        co_return k;
      }
    }
  }
}

}  // namespace sluice::s3
