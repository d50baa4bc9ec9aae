#include "s3/form_data.h"

#include <utility>
#include <vector>

#include "common/strings.h"

namespace sluice::s3 {
namespace {

constexpr size_t kMaxPartHeaders = size_t{16} * 1024;

Status Malformed(std::string_view why) {
  return Error(
      Err::kMalformedPOSTRequest,
      "The body of your POST request is not well-formed multipart/form-data: " + std::string(why));
}

// Parameters of a header value: `form-data; name="a"; filename="b"`. Quoted values may
// hold ';' and backslash escapes.
bool ParseParams(std::string_view v, std::string* first,
                 std::vector<std::pair<std::string, std::string>>* params) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) i++;
  };
  skip_ws();
  size_t start = i;
  while (i < v.size() && v[i] != ';') i++;
  *first = std::string(Trim(v.substr(start, i - start)));
  while (i < v.size()) {
    i++;  // ';'
    skip_ws();
    size_t ns = i;
    while (i < v.size() && v[i] != '=' && v[i] != ';') i++;
    std::string name = ToLower(Trim(v.substr(ns, i - ns)));
    std::string value;
    if (i < v.size() && v[i] == '=') {
      i++;
      skip_ws();
      if (i < v.size() && v[i] == '"') {
        i++;
        bool closed = false;
        while (i < v.size()) {
          char c = v[i++];
          if (c == '\\' && i < v.size()) {
            value += v[i++];
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value += c;
          }
        }
        if (!closed) return false;
        skip_ws();
        if (i < v.size() && v[i] != ';') return false;
      } else {
        size_t vs = i;
        while (i < v.size() && v[i] != ';') i++;
        value = std::string(Trim(v.substr(vs, i - vs)));
      }
    }
    if (!name.empty()) params->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

}  // namespace

Result<std::string> FormBoundary(std::string_view content_type) {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
  if (!ParseParams(content_type, &type, &params) || !EqualsIgnoreCase(type, "multipart/form-data"))
    return Malformed("the Content-Type is not multipart/form-data");
  for (const auto& [k, v] : params)
    if (k == "boundary") {
      if (v.empty() || v.size() > 70) return Malformed("the boundary must be 1 to 70 characters");
      return v;
    }
  return Malformed("the Content-Type has no boundary");
}

FormDataParser::FormDataParser(const std::string& boundary) : delimiter_("\r\n--" + boundary) {
  buf_ = "\r\n";  // so a delimiter at the very start of the body is found like any other
}

void FormDataParser::Feed(std::string_view data) {
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data);
}

Status FormDataParser::ParseHeaders(std::string_view block, Event* e) {
  bool disposition = false;
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Malformed("a part header without ':'");
    std::string_view name = Trim(line.substr(0, colon)), value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-disposition")) {
      std::string type;
      std::vector<std::pair<std::string, std::string>> params;
      if (!ParseParams(value, &type, &params) || !EqualsIgnoreCase(type, "form-data"))
        return Malformed("a part's Content-Disposition is not form-data");
      for (auto& [k, v] : params) {
        if (k == "name")
          e->name = std::move(v);
        else if (k == "filename") {
          e->filename = std::move(v);
          e->has_filename = true;
        }
      }
      disposition = true;
    } else if (EqualsIgnoreCase(name, "content-type")) {
      e->content_type = std::string(value);
    }
  }
  if (!disposition || e->name.empty())
    return Malformed("a part without a named Content-Disposition");
  return Status::Ok();
}

Result<FormDataParser::Event> FormDataParser::Next() {
  Event e;
  for (;;) {
    std::string_view avail = std::string_view(buf_).substr(pos_);
    switch (state_) {
      case State::kPreamble: {
        size_t at = avail.find(delimiter_);
        if (at == std::string_view::npos) {
          if (finished_) return Malformed("no boundary delimiter");
          if (avail.size() >= delimiter_.size()) pos_ = buf_.size() - (delimiter_.size() - 1);
          return e;
        }
        pos_ += at + delimiter_.size();
        state_ = State::kAfterDelimiter;
        continue;
      }
      case State::kAfterDelimiter: {
        // Transport padding (spaces and tabs) may follow a delimiter.
        while (!avail.empty() && (avail[0] == ' ' || avail[0] == '\t')) {
          pos_++;
          avail.remove_prefix(1);
        }
        if (avail.size() < 2) {
          if (finished_) return Malformed("the body ends after a delimiter");
          return e;
        }
        if (avail.starts_with("--")) {
          state_ = State::kDone;
          continue;
        }
        if (!avail.starts_with("\r\n")) return Malformed("a delimiter line has trailing bytes");
        pos_ += 2;
        state_ = State::kHeaders;
        continue;
      }
      case State::kHeaders: {
        std::string_view block;
        if (avail.starts_with("\r\n")) {
          pos_ += 2;
        } else {
          size_t end = avail.find("\r\n\r\n");
          if (end == std::string_view::npos) {
            if (avail.size() > kMaxPartHeaders) return Malformed("a part's headers are too long");
            if (finished_) return Malformed("the body ends inside a part's headers");
            return e;
          }
          if (end > kMaxPartHeaders) return Malformed("a part's headers are too long");
          block = avail.substr(0, end);
          pos_ += end + 4;
        }
        SLUICE_RETURN_IF_ERROR(ParseHeaders(block, &e));
        e.kind = Event::kPartStart;
        state_ = State::kBody;
        return e;
      }
      case State::kBody: {
        size_t at = avail.find(delimiter_);
        if (at == 0) {
          pos_ += delimiter_.size();
          state_ = State::kAfterDelimiter;
          e.kind = Event::kPartEnd;
          return e;
        }
        // Without a delimiter in view, the last delimiter-length-minus-one bytes might be
        // the start of one: hold them back.
        size_t safe = at != std::string_view::npos        ? at
                      : avail.size() >= delimiter_.size() ? avail.size() - (delimiter_.size() - 1)
                                                          : 0;
        if (safe == 0) {
          if (finished_) return Malformed("the body ends inside a part");
          return e;
        }
        e.kind = Event::kData;
        e.data = avail.substr(0, safe);
        pos_ += safe;
        return e;
      }
      case State::kDone:
        e.kind = Event::kEnd;
        return e;
    }
  }
}

}  // namespace sluice::s3
