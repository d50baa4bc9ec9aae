#include "s3/payload.h"

#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr ChecksumAlgo kAlgos[] = {ChecksumAlgo::kCrc32, ChecksumAlgo::kCrc32c,
                                   ChecksumAlgo::kCrc64Nvme, ChecksumAlgo::kSha1,
                                   ChecksumAlgo::kSha256};

Status InvalidChecksumValue(ChecksumAlgo a) {
  return Error(Err::kInvalidRequest, "Value for " + ChecksumHeaderName(a) + " header is invalid.");
}

}  // namespace

Result<std::unique_ptr<Payload>> Payload::Open(Ctx& ctx, bool headers_describe_body) {
  using auth::PayloadMode;
  const http::Request& req = ctx.req;
  const PayloadMode mode = ctx.auth.payload;
  const bool streaming = mode == PayloadMode::kStreamingSigned ||
                         mode == PayloadMode::kStreamingSignedTrailer ||
                         mode == PayloadMode::kStreamingUnsignedTrailer;
  if (!req.content_length && !req.chunked) return Error(Err::kMissingContentLength, "");
  std::optional<uint64_t> declared = req.content_length;
  if (streaming) {
    auto d = ParseUint(req.header("x-amz-decoded-content-length"));
    if (!d)
      return Error(Err::kMissingContentLength,
                   "aws-chunked uploads need the x-amz-decoded-content-length header");
    declared = *d;
  }
  std::unique_ptr<Payload> p(new Payload(ctx.body, declared));
  if (streaming) {
    std::optional<AwsChunkedParser::Signing> signing;
    if (mode != PayloadMode::kStreamingUnsignedTrailer)
      signing = AwsChunkedParser::Signing{ctx.auth.signing_key, ctx.auth.amz_date, ctx.auth.scope,
                                          ctx.auth.seed_signature};
    p->chunked_ = std::make_unique<AwsChunkedReader>(ctx.body, std::move(signing),
                                                     mode != PayloadMode::kStreamingSigned);
  }
  if (mode == PayloadMode::kSha256) {
    p->sha_.emplace(Hasher::Kind::kSha256);
    p->expected_sha_ = ctx.auth.payload_sha256;
  }
  if (req.has_header("content-md5")) {
    auto raw = Base64Decode(Trim(req.header("content-md5")));
    if (!raw || raw->size() != 16) return Error(Err::kInvalidDigest, "");
    p->expected_md5_ = std::move(*raw);
  }

  // Flexible checksum: at most one x-amz-checksum-<algo> header, or one announced trailer.
  ChecksumAlgo algo = ChecksumAlgo::kNone;
  for (ChecksumAlgo a : kAlgos) {
    std::string name = ChecksumHeaderName(a);
    if (!headers_describe_body || !req.has_header(name)) continue;
    if (algo != ChecksumAlgo::kNone)
      return Error(Err::kInvalidRequest,
                   "Expecting a single x-amz-checksum- header. Multiple "
                   "checksum Types are not allowed.");
    auto raw = Base64Decode(Trim(req.header(name)));
    if (!raw || raw->size() != ChecksumSize(a)) return InvalidChecksumValue(a);
    algo = a;
    p->expected_checksum_ = std::move(*raw);
  }
  std::string_view trailer = Trim(req.header("x-amz-trailer"));
  if (!trailer.empty()) {
    if (!streaming || mode == PayloadMode::kStreamingSigned)
      return Error(Err::kInvalidRequest, "x-amz-trailer needs a STREAMING-*-TRAILER payload");
    std::optional<ChecksumAlgo> t;
    for (ChecksumAlgo a : kAlgos)
      if (EqualsIgnoreCase(trailer, ChecksumHeaderName(a))) t = a;
    if (!t)
      return Error(Err::kInvalidRequest,
                   "The value specified in the x-amz-trailer header is not supported");
    if (algo != ChecksumAlgo::kNone && algo != *t)
      return Error(Err::kInvalidRequest, "Expecting a single x-amz-checksum- header.");
    algo = *t;
    p->checksum_in_trailer_ = true;
  }
  if (algo == ChecksumAlgo::kNone && req.has_header("x-amz-sdk-checksum-algorithm")) {
    auto a = ChecksumAlgoFromName(Trim(req.header("x-amz-sdk-checksum-algorithm")));
    if (!a) return Error(Err::kInvalidRequest, "Checksum algorithm provided is unsupported.");
    algo = *a;
  }
  if (algo != ChecksumAlgo::kNone) p->checksum_ = std::make_unique<Checksummer>(algo);
  return p;
}

Status Payload::Finish() {
  done_ = true;
  if (!defer_md5_) md5_ = md5_hasher_.Finish();
  if (sha_ && sha_->FinishHex() != expected_sha_) return Error(Err::kContentSha256Mismatch, "");
  if (!defer_md5_ && expected_md5_ && *expected_md5_ != md5_) return Error(Err::kBadDigest, "");
  if (declared_ && *declared_ != total_)
    return Error(Err::kIncompleteBody, "the body's length does not match the declared length");
  if (checksum_) {
    std::string got = checksum_->Finish();
    if (checksum_in_trailer_) {
      std::string name = ChecksumHeaderName(checksum_->algo());
      for (const auto& [k, v] : chunked_->trailers()) {
        if (k != name) continue;
        auto raw = Base64Decode(v);
        if (!raw || raw->size() != ChecksumSize(checksum_->algo()))
          return InvalidChecksumValue(checksum_->algo());
        expected_checksum_ = std::move(*raw);
      }
      if (!expected_checksum_)
        return Error(Err::kInvalidRequest,
                     "The trailer " + name + " announced by x-amz-trailer is missing.");
    }
    if (expected_checksum_ && *expected_checksum_ != got)
      return Error(Err::kBadDigest, "The " + std::string(ChecksumAlgoName(checksum_->algo())) +
                                        " you specified did not match the calculated checksum.");
    checksum_b64_ = Base64Encode(got);
  }
  return Status::Ok();
}

Status Payload::SetMd5(std::string raw) {
  md5_ = std::move(raw);
  if (expected_md5_ && *expected_md5_ != md5_) return Error(Err::kBadDigest, "");
  return Status::Ok();
}

Task<Result<size_t>> Payload::Read(char* buf, size_t n) {
  if (done_) co_return size_t{0};
  // Not a conditional expression: GCC 12 miscompiles co_await inside ?: operands.
  Result<size_t> r = size_t{0};
  if (chunked_) {
    r = co_await chunked_->Read(buf, n);
  } else {
    r = co_await body_.Read(buf, n);
  }
  if (!r.ok()) co_return r.status();
  if (*r == 0) {
    SLUICE_CO_RETURN_IF_ERROR(Finish());
    co_return size_t{0};
  }
  if (!defer_md5_) md5_hasher_.Update(buf, *r);
  if (sha_) sha_->Update(buf, *r);
  if (checksum_) checksum_->Update(buf, *r);
  total_ += *r;
  if (declared_ && total_ > *declared_)
    co_return Error(Err::kIncompleteBody, "the body is longer than its declared length");
  co_return *r;
}

Task<Result<std::string>> Payload::ReadAll(size_t limit, Err too_large) {
  std::string out;
  if (declared_ && *declared_ > limit) co_return Error(too_large, "the request body is too large");
  char buf[16384];
  for (;;) {
    auto r = co_await Read(buf, sizeof buf);
    if (!r.ok()) co_return r.status();
    if (*r == 0) break;
    if (out.size() + *r > limit) co_return Error(too_large, "the request body is too large");
    out.append(buf, *r);
  }
  co_return out;
}

}  // namespace sluice::s3
