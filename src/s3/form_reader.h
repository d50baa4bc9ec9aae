// Runs the multipart/form-data parser over a request body: collects the fields before the
// file, then streams the file's bytes as a Body of its own.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "http/http.h"
#include "s3/form_data.h"

namespace sluice::s3 {

// Reads a form whose fields precede one file part, the part named "file" (whatever other
// parts carry a filename= attribute): ReadFields() collects the fields (up to
// a size limit), then this object is the file's Body; fields after the file are ignored,
// as S3 does.
class FormReader final : public http::Body {
 public:
  FormReader(http::Body& body, const std::string& boundary) : body_(body), parser_(boundary) {}
  // Fields by their names as sent; stops at the file part. kMaxPostPreDataLengthExceeded
  // past `limit` bytes of fields, kIncorrectNumberOfFilesInPostRequest without a file.
  Task<Status> ReadFields(std::vector<std::pair<std::string, std::string>>* fields, size_t limit);
  const std::string& filename() const { return filename_; }
  const std::string& file_content_type() const { return file_content_type_; }

  Task<Result<size_t>> Read(char* buf, size_t n) override;
  bool finished() const override { return file_done_; }
  uint64_t bytes_read() const override { return file_bytes_; }

 private:
  Task<Result<FormDataParser::Event>> NextEvent();
  http::Body& body_;
  FormDataParser parser_;
  std::string filename_, file_content_type_;
  std::string pending_;  // file bytes of an event not yet handed out
  size_t pending_pos_ = 0;
  bool file_done_ = false;
  uint64_t file_bytes_ = 0;
};

}  // namespace sluice::s3
