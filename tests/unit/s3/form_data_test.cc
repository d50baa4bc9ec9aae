#include "s3/form_data.h"

#include <gtest/gtest.h>

namespace sluice::s3 {
namespace {

struct Part {
  std::string name, filename, content_type, data;
  bool has_filename = false;
};

// Feeds `body` in slices of `step` bytes and collects the parts.
Result<std::vector<Part>> ParseAll(const std::string& boundary, const std::string& body,
                                   size_t step) {
  FormDataParser p(boundary);
  std::vector<Part> parts;
  size_t fed = 0;
  for (;;) {
    auto e = p.Next();
    if (!e.ok()) return e.status();
    switch (e->kind) {
      case FormDataParser::Event::kNeedMore:
        if (fed >= body.size()) {
          p.Finish();
        } else {
          size_t n = std::min(step, body.size() - fed);
          p.Feed(std::string_view(body).substr(fed, n));
          fed += n;
        }
        break;
      case FormDataParser::Event::kPartStart:
        parts.push_back({e->name, e->filename, e->content_type, "", e->has_filename});
        break;
      case FormDataParser::Event::kData:
        parts.back().data.append(e->data);
        break;
      case FormDataParser::Event::kPartEnd:
        break;
      case FormDataParser::Event::kEnd:
        return parts;
    }
  }
}

const std::string kBody =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"key\"\r\n\r\n"
    "uploads/${filename}\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=\"empty\"\r\n\r\n"
    "\r\n"
    "--XyZ  \r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\"; b.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n\r\n"
    "line1 --XyZ is no delimiter without a CRLF before it\r\n--Xy\r\n\r\n--XyZ\r\n"
    "Content-Disposition: form-data; name=\"after\"\r\n\r\n"
    "ignored\r\n"
    "--XyZ--\r\nepilogue";

// compat: post-object
TEST(FormData, ParsesFieldsAndFileAtEverySplit) {
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{64}, kBody.size()}) {
    auto parts = ParseAll("XyZ", kBody, step);
    ASSERT_TRUE(parts.ok()) << parts.status().ToString() << " step " << step;
    ASSERT_EQ(parts->size(), 4u) << step;
    EXPECT_EQ((*parts)[0].name, "key");
    EXPECT_EQ((*parts)[0].data, "uploads/${filename}");
    EXPECT_FALSE((*parts)[0].has_filename);
    EXPECT_EQ((*parts)[1].data, "");
    EXPECT_EQ((*parts)[2].name, "file");
    EXPECT_TRUE((*parts)[2].has_filename);
    EXPECT_EQ((*parts)[2].filename, "a \"q\"; b.bin");
    EXPECT_EQ((*parts)[2].content_type, "application/octet-stream");
    EXPECT_EQ((*parts)[2].data, "line1 --XyZ is no delimiter without a CRLF before it\r\n--Xy\r\n");
    EXPECT_EQ((*parts)[3].data, "ignored");
  }
}

TEST(FormData, DelimiterAtTheVeryStart) {
  auto parts = ParseAll("b", "--b\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--b--", 5);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "x");
  EXPECT_EQ((*parts)[0].data, "v");
}

TEST(FormData, MalformedBodiesAreRefused) {
  const std::string hdr = "Content-Disposition: form-data; name=\"k\"\r\n\r\n";
  for (const std::string& bad : std::vector<std::string>{
           std::string(""),                                          // nothing
           std::string("no delimiter at all"),                       // no boundary
           "--b\r\n" + hdr + "value without an end",                 // truncated part
           "--b\r\n" + hdr + "v\r\n--b",                             // ends after a delimiter
           "--b\r\nContent-Disposition: form-data; name=\"k\"\r\n",  // truncated headers
           "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",      // no disposition
           "--b\r\nContent-Disposition: attachment; name=k\r\n\r\nv\r\n--b--",
           "--b\r\nContent-Disposition: form-data; name=\"k\r\n\r\nv\r\n--b--",  // open quote
           "--b\r\nno colon here\r\n\r\nv\r\n--b--",
           "--bxx\r\n" + hdr + "v\r\n--b--",                            // garbage after delimiter
           "--b\r\n" + std::string(20000, 'h') + "\r\n\r\nv\r\n--b--",  // huge headers
       }) {
    auto parts = ParseAll("b", bad, 3);
    ASSERT_FALSE(parts.ok()) << bad.substr(0, 60);
    EXPECT_EQ(parts.status().code(), Err::kMalformedPOSTRequest) << bad.substr(0, 60);
  }
}

TEST(FormData, Boundary) {
  EXPECT_EQ(*FormBoundary("multipart/form-data; boundary=----WebKitFormBoundaryA1"),
            "----WebKitFormBoundaryA1");
  EXPECT_EQ(*FormBoundary("Multipart/Form-Data;boundary=\"quoted; b\""), "quoted; b");
  EXPECT_EQ(FormBoundary("application/x-www-form-urlencoded").status().code(),
            Err::kMalformedPOSTRequest);
  EXPECT_EQ(FormBoundary("multipart/form-data").status().code(), Err::kMalformedPOSTRequest);
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary=").status().code(),
            Err::kMalformedPOSTRequest);
  EXPECT_EQ(FormBoundary("multipart/form-data; boundary=" + std::string(71, 'x')).status().code(),
            Err::kMalformedPOSTRequest);
}

}  // namespace
}  // namespace sluice::s3
