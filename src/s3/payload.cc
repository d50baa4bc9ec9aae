#include "s3/payload.h"

#include "common/strings.h"

namespace sluice::s3 {

Result<std::unique_ptr<Payload>> Payload::Open(Ctx& ctx) {
  using auth::PayloadMode;
  if (ctx.auth.payload == PayloadMode::kStreamingSigned ||
      ctx.auth.payload == PayloadMode::kStreamingSignedTrailer ||
      ctx.auth.payload == PayloadMode::kStreamingUnsignedTrailer)
    return Error(Err::kNotImplemented, "aws-chunked payloads (STREAMING-*) are not supported yet");
  if (!ctx.req.content_length && !ctx.req.chunked)
    return Error(Err::kMissingContentLength, "");
  std::unique_ptr<Payload> p(new Payload(ctx.body, ctx.req.content_length));
  if (ctx.auth.payload == PayloadMode::kSha256) {
    p->sha_.emplace(Hasher::Kind::kSha256);
    p->expected_sha_ = ctx.auth.payload_sha256;
  }
  std::string_view md5 = ctx.req.header("content-md5");
  if (ctx.req.has_header("content-md5")) {
    auto raw = Base64Decode(Trim(md5));
    if (!raw || raw->size() != 16) return Error(Err::kInvalidDigest, "");
    p->expected_md5_ = std::move(*raw);
  }
  return p;
}

Status Payload::Finish() {
  done_ = true;
  md5_ = md5_hasher_.Finish();
  if (sha_ && sha_->FinishHex() != expected_sha_)
    return Error(Err::kContentSha256Mismatch, "");
  if (expected_md5_ && *expected_md5_ != md5_) return Error(Err::kBadDigest, "");
  if (declared_ && *declared_ != total_) return Error(Err::kIncompleteBody, "");
  return Status::Ok();
}

Task<Result<size_t>> Payload::Read(char* buf, size_t n) {
  if (done_) co_return size_t{0};
  auto r = co_await body_.Read(buf, n);
  if (!r.ok()) co_return r.status();
  if (*r == 0) {
    SLUICE_CO_RETURN_IF_ERROR(Finish());
    co_return size_t{0};
  }
  md5_hasher_.Update(buf, *r);
  if (sha_) sha_->Update(buf, *r);
  total_ += *r;
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
