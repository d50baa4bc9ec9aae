#include "s3/aws_chunked.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxTrailers = 64;
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Status Malformed(const std::string& what) {
  return Error(Err::kIncompleteBody, "malformed aws-chunked body: " + what);
}

Status BadSignature(const std::string& what) {
  return Error(
      Err::kSignatureDoesNotMatch,
      "The " + what + " signature we calculated does not match the signature you provided.");
}

bool SameSignature(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

AwsChunkedParser::AwsChunkedParser(std::optional<Signing> signing, bool trailer)
    : signing_(std::move(signing)), trailer_(trailer) {
  if (signing_) prev_signature_ = signing_->seed_signature;
}

Status AwsChunkedParser::VerifyChunk(const std::string& data_sha_hex) {
  if (!signing_) return Status::Ok();
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + signing_->amz_date + "\n" + signing_->scope +
                    "\n" + prev_signature_ + "\n" + kEmptySha + "\n" + data_sha_hex;
  std::string expected = HexEncode(HmacSha256(signing_->key, sts));
  if (!SameSignature(expected, chunk_signature_)) return BadSignature("chunk");
  prev_signature_ = std::move(expected);
  return Status::Ok();
}

Status AwsChunkedParser::VerifyTrailer() {
  if (!signing_) return Status::Ok();
  if (trailer_signature_.empty()) return Malformed("the trailer has no x-amz-trailer-signature");
  std::string sts = "AWS4-HMAC-SHA256-TRAILER\n" + signing_->amz_date + "\n" + signing_->scope +
                    "\n" + prev_signature_ + "\n" + Sha256Hex(trailer_canonical_);
  if (!SameSignature(HexEncode(HmacSha256(signing_->key, sts)), trailer_signature_))
    return BadSignature("trailer");
  return Status::Ok();
}

// A complete line (without CRLF) in the header, trailer or final state.
Status AwsChunkedParser::OnLine(std::string_view line) {
  if (state_ == State::kFinalLine) {
    if (!line.empty()) return Malformed("data after the final chunk");
    state_ = State::kDone;
    return Status::Ok();
  }
  if (state_ == State::kTrailer) {
    if (line.empty()) {
      SLUICE_RETURN_IF_ERROR(VerifyTrailer());
      state_ = State::kDone;
      return Status::Ok();
    }
    if (trailers_.size() >= kMaxTrailers) return Malformed("too many trailing headers");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Malformed("bad trailing header");
    std::string name = ToLower(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (name == "x-amz-trailer-signature") {
      trailer_signature_ = std::move(value);
    } else {
      trailer_canonical_ += name + ":" + value + "\n";
      trailers_.emplace_back(std::move(name), std::move(value));
    }
    return Status::Ok();
  }
  // Chunk header: "<hex>[;chunk-signature=<sig>]".
  size_t semi = line.find(';');
  std::string_view hex = Trim(line.substr(0, semi));
  if (hex.empty() || hex.size() > 15) return Malformed("bad chunk size");
  uint64_t size = 0;
  for (char c : hex) {
    int v = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
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
  if (size > 0) {
    chunk_left_ = size;
    state_ = State::kData;
    return Status::Ok();
  }
  SLUICE_RETURN_IF_ERROR(VerifyChunk(kEmptySha));  // the final, empty chunk
  state_ = trailer_ ? State::kTrailer : State::kFinalLine;
  return Status::Ok();
}

Status AwsChunkedParser::Feed(std::string_view* in, char* out, size_t cap, size_t* produced) {
  *produced = 0;
  while (!in->empty() && state_ != State::kDone) {
    if (state_ == State::kData) {
      if (*produced == cap) return Status::Ok();
      size_t k = static_cast<size_t>(
          std::min<uint64_t>({uint64_t{cap - *produced}, chunk_left_, uint64_t{in->size()}}));
      std::memcpy(out + *produced, in->data(), k);
      if (signing_) chunk_sha_.Update(in->data(), k);
      in->remove_prefix(k);
      *produced += k;
      chunk_left_ -= k;
      if (chunk_left_ == 0) {
        state_ = State::kDataEnd;
        crlf_seen_ = 0;
      }
      continue;
    }
    if (state_ == State::kDataEnd) {
      char want = crlf_seen_ == 0 ? '\r' : '\n';
      if ((*in)[0] != want) return Malformed("a chunk does not end with CRLF");
      in->remove_prefix(1);
      if (++crlf_seen_ == 2) {
        if (signing_) SLUICE_RETURN_IF_ERROR(VerifyChunk(chunk_sha_.FinishHex()));
        state_ = State::kHeader;
      }
      continue;
    }
    // A line-oriented state: gather up to CRLF.
    size_t nl = in->find('\n');
    size_t take = nl == std::string_view::npos ? in->size() : nl + 1;
    if (line_.size() + take > kMaxLine) return Malformed("a line is too long");
    line_.append(in->data(), take);
    in->remove_prefix(take);
    if (nl == std::string_view::npos) continue;
    if (line_.size() < 2 || line_[line_.size() - 2] != '\r')
      return Malformed("a line does not end with CRLF");
    line_.resize(line_.size() - 2);
    std::string line = std::move(line_);
    line_.clear();
    SLUICE_RETURN_IF_ERROR(OnLine(line));
  }
  return Status::Ok();
}

}  // namespace sluice::s3
