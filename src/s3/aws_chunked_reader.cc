#include "s3/aws_chunked_reader.h"

namespace sluice::s3 {

Task<Result<size_t>> AwsChunkedReader::Read(char* out, size_t n) {
  for (;;) {
    if (parser_.done()) co_return size_t{0};
    if (pending_.empty()) {
      auto r = co_await body_.Read(buf_.get(), kBufferSize);
      if (!r.ok()) co_return r.status();
      if (*r == 0)
        co_return Error(Err::kIncompleteBody, "malformed aws-chunked body: it ends early");
      pending_ = std::string_view(buf_.get(), *r);
    }
    size_t produced = 0;
    SLUICE_CO_RETURN_IF_ERROR(parser_.Feed(&pending_, out, n, &produced));
    if (produced > 0) co_return produced;
  }
}

}  // namespace sluice::s3
