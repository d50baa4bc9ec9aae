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

namespace {
// pugixml takes NUL-terminated names: a short one is copied to the stack, not the heap
// (a listing page adds 5,000 elements).
template <class F>
auto WithName(std::string_view name, F&& f) {
  char buf[64];
  if (name.size() < sizeof buf) {
    name.copy(buf, name.size());
    buf[name.size()] = '\0';
    return f(buf);
  }
  const std::string s(name);
  return f(s.c_str());
}
}  // namespace

XmlNode XmlNode::Child(std::string_view name) {
  return XmlNode(WithName(name, [&](const char* n) { return n_.append_child(n); }));
}

XmlNode& XmlNode::Add(std::string_view name, std::string_view text) {
  auto c = WithName(name, [&](const char* n) { return n_.append_child(n); });
  c.append_child(pugi::node_pcdata).set_value(text.data(), text.size());
  return *this;
}

XmlNode& XmlNode::Attr(std::string_view name, std::string_view value) {
  n_.append_attribute(std::string(name).c_str()) = std::string(value).c_str();
  return *this;
}

XmlNode& XmlNode::Text(std::string_view text) {
  n_.append_child(pugi::node_pcdata).set_value(text.data(), text.size());
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

XmlWriter::XmlWriter(std::string_view root_name, bool with_namespace) : root_(root_name) {
  out_.reserve(4096);
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out_.append(root_name);
  if (with_namespace) out_.append(" xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"");
  out_.push_back('>');
}

XmlWriter& XmlWriter::Open(std::string_view name) {
  out_.push_back('<');
  out_.append(name);
  out_.push_back('>');
  return *this;
}

XmlWriter& XmlWriter::Close(std::string_view name) {
  out_.append("</");
  out_.append(name);
  out_.push_back('>');
  return *this;
}

XmlWriter& XmlWriter::Add(std::string_view name, std::string_view text) {
  Open(name);
  Escaped(text);
  return Close(name);
}

XmlWriter& XmlWriter::Add(std::string_view name, uint64_t v) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  return Add(name, std::string_view(p, static_cast<size_t>(end - p)));
}

void XmlWriter::Escaped(std::string_view text) {
  size_t run = 0;  // start of the stretch copied as is
  for (size_t i = 0; i < text.size(); i++) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\0') break;  // pugixml stores C strings: text ends at a NUL
    const bool special =
        c == '&' || c == '<' || c == '>' || (c < 32 && c != '\t' && c != '\n' && c != '\r');
    if (!special) continue;
    out_.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '&':
        out_.append("&amp;");
        break;
      case '<':
        out_.append("&lt;");
        break;
      case '>':
        out_.append("&gt;");
        break;
      default: {
        const char ent[] = {'&', '#', static_cast<char>('0' + c / 10),
                            static_cast<char>('0' + c % 10), ';'};
        out_.append(ent, sizeof ent);
      }
    }
  }
  const size_t nul = text.find('\0', run);
  out_.append(text.substr(run, (nul == std::string_view::npos ? text.size() : nul) - run));
}

std::string XmlWriter::Finish() {
  Close(root_);
  return std::move(out_);
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
