// XML in and out, over pugixml. Requests' XML bodies are size-limited before parsing;
// parse failures become MalformedXML.
#pragma once

#include <cstdint>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::s3 {

class XmlNode {
 public:
  explicit XmlNode(pugi::xml_node n) : n_(n) {}
  XmlNode Child(std::string_view name);
  XmlNode& Add(std::string_view name, std::string_view text);
  XmlNode& Add(std::string_view name, uint64_t v) { return Add(name, std::to_string(v)); }
  XmlNode& AddBool(std::string_view name, bool v) { return Add(name, v ? "true" : "false"); }
  XmlNode& Attr(std::string_view name, std::string_view value);
  // Sets this element's own text.
  XmlNode& Text(std::string_view text);

 private:
  pugi::xml_node n_;
};

// A response document whose root element carries the S3 namespace.
class XmlDoc {
 public:
  explicit XmlDoc(std::string_view root_name, bool with_namespace = true);
  XmlNode& root() { return root_; }
  std::string Render() const;

 private:
  pugi::xml_document doc_;
  XmlNode root_;
};

// A response document written straight into a string, element after element, for the
// large ones (listing pages): building pugixml's tree and saving it were 68% of the
// instructions of a 1,000-key ListObjectsV2 page (bench/costs.sh, 2026-12-07). Its output
// is byte for byte what XmlDoc renders for the same elements (tests/unit/s3/xml_test.cc):
// text escapes &, < and > as entities, and control characters other than tab, newline and
// carriage return as pugixml does (&#NN;).
class XmlWriter {
 public:
  explicit XmlWriter(std::string_view root_name, bool with_namespace = true);
  XmlWriter& Open(std::string_view name);
  XmlWriter& Close(std::string_view name);
  XmlWriter& Add(std::string_view name, std::string_view text);
  XmlWriter& Add(std::string_view name, uint64_t v);
  XmlWriter& AddBool(std::string_view name, bool v) { return Add(name, v ? "true" : "false"); }
  // Closes the root element and hands over the document.
  std::string Finish();

 private:
  void Escaped(std::string_view text);
  std::string out_, root_;
};

inline constexpr size_t kMaxXmlBody = 1 << 20;
// CompleteMultipartUpload may name 10,000 parts (about 1 MiB of XML).
inline constexpr size_t kMaxCompleteXmlBody = 8 << 20;

// Parses a request body; kMalformedXML on failure, when the root is not `root_name`, or
// when the body is larger than `limit`.
Status ParseXml(std::string_view body, std::string_view root_name, pugi::xml_document* doc,
                size_t limit = kMaxXmlBody);

// Text of a child element ("" when absent).
std::string ChildText(const pugi::xml_node& n, const char* name);

}  // namespace sluice::s3
