// The XML request bodies, walked the way the operations walk them.
#include <cstdint>

#include "common/names.h"
#include "common/strings.h"
#include "s3/parse.h"
#include "s3/xml.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const char* root :
       {"Delete", "CompleteMultipartUpload", "Tagging", "CreateBucketConfiguration",
        "VersioningConfiguration", "ObjectLockConfiguration", "Retention", "LegalHold"}) {
    pugi::xml_document doc;
    if (!s3::ParseXml(body, root, &doc).ok()) continue;
    auto r = doc.document_element();
    for (auto o : r.children("Object")) (void)o.child("Key").text().as_string();
    for (auto p : r.children("Part")) {
      (void)ParseUint(Trim(p.child("PartNumber").text().as_string()));
      (void)s3::UnquoteEtag(p.child("ETag").text().as_string());
    }
    meta::HeaderList tags;
    for (auto t : r.child("TagSet").children("Tag"))
      tags.emplace_back(t.child("Key").text().as_string(), t.child("Value").text().as_string());
    (void)s3::ValidateTags(tags);
    (void)s3::ChildText(r, "LocationConstraint");
    for (auto o : r.children("Object"))
      (void)VersionId::Parse(o.child("VersionId").text().as_string());
    (void)s3::ChildText(r, "Status");
    (void)ParseIso8601(Trim(s3::ChildText(r, "RetainUntilDate")));
    auto def = r.child("Rule").child("DefaultRetention");
    (void)ParseUint(Trim(s3::ChildText(def, "Days")));
  }
  // The listing pages' writer renders what pugixml renders, whatever the text.
  s3::XmlDoc doc("ListBucketResult");
  s3::XmlWriter w("ListBucketResult");
  doc.root().Child("Contents").Add("Key", body);
  w.Open("Contents").Add("Key", body).Close("Contents");
  if (w.Finish() != doc.Render()) std::abort();
  return 0;
}
