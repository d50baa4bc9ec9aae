// multipart/form-data request bodies (RFC 7578), as browsers send S3 POST uploads: a push
// parser, fed arbitrary slices, so it can be fuzzed and never buffers a file.
// form_reader.h runs it over a request body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::s3 {

// The boundary parameter of a multipart/form-data Content-Type; kMalformedPOSTRequest.
Result<std::string> FormBoundary(std::string_view content_type);

class FormDataParser {
 public:
  struct Event {
    enum Kind { kNeedMore, kPartStart, kData, kPartEnd, kEnd } kind = kNeedMore;
    std::string name;      // kPartStart: the form field's name
    std::string filename;  // kPartStart: set (maybe empty) for a file field
    bool has_filename = false;
    std::string content_type;  // kPartStart: the part's Content-Type
    std::string_view data;     // kData: valid until the next call
  };

  explicit FormDataParser(const std::string& boundary);
  // Appends input. Consumed input is released as Next() proceeds.
  void Feed(std::string_view data);
  // Marks the end of input; Next() then fails with kMalformedPOSTRequest if the closing
  // delimiter never came.
  void Finish() { finished_ = true; }
  // The next event; kNeedMore when it needs more input. kMalformedPOSTRequest on a
  // malformed body.
  Result<Event> Next();

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kDone };
  Status ParseHeaders(std::string_view block, Event* e);
  std::string delimiter_;  // "\r\n--" boundary
  std::string buf_;
  size_t pos_ = 0;  // consumed prefix of buf_
  State state_ = State::kPreamble;
  bool finished_ = false;
};

}  // namespace sluice::s3
