#include "s3/xml.h"

#include <sstream>

namespace sluice::s3 {
namespace {
struct StringWriter final : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};
}  // namespace

XmlNode XmlNode::Child(std::string_view name) {
  return XmlNode(n_.append_child(std::string(name).c_str()));
}

XmlNode& XmlNode::Add(std::string_view name, std::string_view text) {
  auto c = n_.append_child(std::string(name).c_str());
  c.append_child(pugi::node_pcdata).set_value(std::string(text).c_str());
  return *this;
}

XmlNode& XmlNode::Attr(std::string_view name, std::string_view value) {
  n_.append_attribute(std::string(name).c_str()) = std::string(value).c_str();
  return *this;
}

XmlNode& XmlNode::Text(std::string_view text) {
  n_.append_child(pugi::node_pcdata).set_value(std::string(text).c_str());
  return *this;
}

XmlDoc::XmlDoc(std::string_view root_name, bool with_namespace)
    : root_(doc_.append_child(std::string(root_name).c_str())) {
  if (with_namespace)
    doc_.first_child().append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
}

std::string XmlDoc::Render() const {
  StringWriter w;
  w.out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  doc_.save(w, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return std::move(w.out);
}

Status ParseXml(std::string_view body, std::string_view root_name, pugi::xml_document* doc,
                size_t limit) {
  if (body.size() > limit) return Error(Err::kMalformedXML, "the XML body is too large");
  auto res = doc->load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!res) return Error(Err::kMalformedXML, std::string("malformed XML: ") + res.description());
  auto root = doc->document_element();
  if (!root || root_name != root.name())
    return Error(Err::kMalformedXML,
                 "expected <" + std::string(root_name) + "> as the root element");
  return Status::Ok();
}

std::string ChildText(const pugi::xml_node& n, const char* name) {
  return n.child(name).text().as_string();
}

}  // namespace sluice::s3
