#include "s3/batch_request.h"

#include "common/strings.h"
#include "s3/xml.h"

namespace sluice::s3 {

Result<BatchGetRequest> ParseBatchGet(std::string_view body) {
  pugi::xml_document doc;
  SLUICE_RETURN_IF_ERROR(ParseXml(body, "BatchGet", &doc, kMaxBatchGetBody));
  auto root = doc.document_element();
  BatchGetRequest out;
  bool seen_on_error = false;
  for (auto o : root.children()) {
    if (o.type() != pugi::node_element) continue;
    const std::string_view name = o.name();
    if (name == "OnError") {
      const std::string_view v = Trim(o.text().as_string());
      if (seen_on_error || (v != "fail" && v != "entry"))
        return Error(Err::kMalformedXML,
                     "<OnError> is given once, as 'fail' (the default) or 'entry'");
      seen_on_error = true;
      out.error_entries = v == "entry";
      continue;
    }
    if (name != "Object")
      return Error(Err::kMalformedXML, "unexpected <" + std::string(name) + "> in <BatchGet>");
    if (!o.child("Key")) return Error(Err::kMalformedXML, "every <Object> needs a <Key>");
    if (out.items.size() == kMaxBatchGetItems)
      return Error(Err::kMalformedXML, "a BatchGet names 1 to 10000 objects");
    for (auto c : o.children()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view field = c.name();
      if (field != "Key" && field != "VersionId" && field != "Range" && field != "Member")
        return Error(Err::kMalformedXML, "unexpected <" + std::string(field) + "> in <Object>");
    }
    BatchGetItem item;
    item.name = o.child("Key").text().as_string();
    if (o.child("Member")) {
      item.member = o.child("Member").text().as_string();
      if (item.member.empty()) return Error(Err::kMalformedXML, "<Member> names a member");
    }
    item.range = std::string(Trim(o.child("Range").text().as_string()));
    auto key = ParseObjectKey(item.name);
    if (!key.ok())
      item.invalid = key.status();
    else
      item.key = *key;
    if (item.invalid.ok() && o.child("VersionId")) {
      auto v = VersionId::Parse(o.child("VersionId").text().as_string());
      if (!v.ok())
        item.invalid = v.status();
      else
        item.version = *v;
    }
    out.items.push_back(std::move(item));
  }
  if (out.items.empty()) return Error(Err::kMalformedXML, "a BatchGet names 1 to 10000 objects");
  return out;
}

}  // namespace sluice::s3
