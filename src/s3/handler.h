// The S3 front door: turns one HTTP request into one S3 operation.
// parse (route, query) -> authenticate (SigV4) -> execute (ops/) -> render, and one
// access-log line per request. Thread-safe; one instance serves every I/O thread.
#pragma once

#include <atomic>
#include <string>

#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "http/http.h"
#include "s3/context.h"

namespace sluice::s3 {

class CommonHeaders;  // handler.cc: adds the headers every response carries

class S3Handler {
 public:
  explicit S3Handler(const Services& svc);
  Task<void> Handle(http::Request& req, http::Body& body, http::Responder& resp);
  // For requests the HTTP layer could not parse.
  void RenderProtocolError(Err code, std::string_view message, http::ResponseHead* head,
                           std::string* body);

 private:
  Task<Status> Execute(Ctx& ctx, CommonHeaders& resp);
  std::string NextRequestId();

  const Services& svc_;
  auth::SigV4Verifier verifier_;
  auth::SigV2Verifier verifier_v2_;
  std::string id_prefix_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace sluice::s3
