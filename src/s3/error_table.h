// The one table from domain error (common/error.h) to HTTP status and S3 error Code.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/status.h"

namespace sluice::s3 {

struct S3Error {
  int http_status;
  std::string_view code;
  std::string_view message;  // used when the Status carries none
};

const S3Error& LookupError(Err e);
// The answer to a failed request: LookupError of its code, except that an internal failure
// the store marked retryable (EAGAIN, EINTR, a lock timeout: Status::retryable) is 503
// SlowDown, which every SDK retries with backoff, rather than 500.
Err AnswerCode(const Status& st);

// <Error><Code/><Message/><Resource/><RequestId/>{extra}</Error>
std::string RenderErrorXml(Err e, std::string_view message, std::string_view resource,
                           std::string_view request_id,
                           const std::vector<std::pair<std::string, std::string>>& extra = {});

}  // namespace sluice::s3
