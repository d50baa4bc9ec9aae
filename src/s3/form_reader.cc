#include "s3/form_reader.h"

#include <cstring>

#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;

}  // namespace

Task<Result<FormDataParser::Event>> FormReader::NextEvent() {
  std::unique_ptr<char[]> chunk;
  for (;;) {
    SLUICE_CO_ASSIGN_OR_RETURN(FormDataParser::Event e, parser_.Next());
    if (e.kind != FormDataParser::Event::kNeedMore) co_return e;
    if (!chunk) chunk.reset(new char[kReadChunk]);
    SLUICE_CO_ASSIGN_OR_RETURN(size_t n, co_await body_.Read(chunk.get(), kReadChunk));
    if (n == 0) {
      parser_.Finish();
    } else {
      parser_.Feed(std::string_view(chunk.get(), n));
    }
  }
}

Task<Status> FormReader::ReadFields(std::vector<std::pair<std::string, std::string>>* fields,
                                    size_t limit) {
  size_t total = 0;
  std::string* value = nullptr;
  for (;;) {
    SLUICE_CO_ASSIGN_OR_RETURN(FormDataParser::Event e, co_await NextEvent());
    switch (e.kind) {
      case FormDataParser::Event::kPartStart:
        // The file is the part named "file" (S3 wants it last). A filename= attribute on
        // another part means nothing: python-requests sends one on every field.
        if (EqualsIgnoreCase(e.name, "file")) {
          filename_ = std::move(e.filename);
          file_content_type_ = std::move(e.content_type);
          co_return Status::Ok();
        }
        total += e.name.size();
        if (total > limit) co_return Error(Err::kMaxPostPreDataLengthExceeded, "");
        fields->emplace_back(std::move(e.name), std::string());
        value = &fields->back().second;
        break;
      case FormDataParser::Event::kData:
        total += e.data.size();
        if (total > limit) co_return Error(Err::kMaxPostPreDataLengthExceeded, "");
        if (value) value->append(e.data);
        break;
      case FormDataParser::Event::kPartEnd:
        value = nullptr;
        break;
      case FormDataParser::Event::kEnd:
        co_return Error(Err::kIncorrectNumberOfFilesInPostRequest, "");
      case FormDataParser::Event::kNeedMore:
        break;
    }
  }
}

Task<Result<size_t>> FormReader::Read(char* buf, size_t n) {
  if (pending_pos_ < pending_.size()) {
    size_t k = std::min(n, pending_.size() - pending_pos_);
    std::memcpy(buf, pending_.data() + pending_pos_, k);
    pending_pos_ += k;
    file_bytes_ += k;
    co_return k;
  }
  if (file_done_) co_return size_t{0};
  SLUICE_CO_ASSIGN_OR_RETURN(FormDataParser::Event e, co_await NextEvent());
  if (e.kind == FormDataParser::Event::kPartEnd) {
    file_done_ = true;  // fields after the file are ignored, as S3 does
    co_return size_t{0};
  }
  if (e.kind != FormDataParser::Event::kData)
    co_return Error(Err::kMalformedPOSTRequest, "the file part is not terminated");
  size_t k = std::min(n, e.data.size());
  std::memcpy(buf, e.data.data(), k);
  pending_.assign(e.data.substr(k));
  pending_pos_ = 0;
  file_bytes_ += k;
  co_return k;
}

}  // namespace sluice::s3
