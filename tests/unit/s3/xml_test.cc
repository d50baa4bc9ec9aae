// XmlWriter (the listing pages' writer) renders byte for byte what XmlDoc (pugixml) renders
// for the same elements, text that needs escaping included.
#include "s3/xml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::s3 {
namespace {

TEST(XmlWriter, RendersWhatPugixmlRenders) {
  const std::vector<std::string> texts = {
      "",
      "plain",
      "a&b<c>d\"e'f",
      "tab\tnew\nline\rcr",
      std::string("ctl\x01\x02\x1f end"),
      "\xc3\xa9t\xc3\xa9 \xe2\x82\xac",
      std::string("before\0after", 12),
      "&&&<<<>>>",
  };
  XmlDoc doc("ListBucketResult");
  XmlWriter w("ListBucketResult");
  doc.root().Add("Name", "bkt").Add("MaxKeys", 1000).AddBool("IsTruncated", false);
  w.Add("Name", "bkt").Add("MaxKeys", 1000).AddBool("IsTruncated", false);
  for (const auto& t : texts) {
    XmlNode c = doc.root().Child("Contents");
    c.Add("Key", t).Add("Size", 18446744073709551615ULL).Add("Zero", uint64_t{0});
    w.Open("Contents").Add("Key", t).Add("Size", 18446744073709551615ULL).Add("Zero", uint64_t{0});
    w.Close("Contents");
  }
  doc.root().Child("CommonPrefixes").Add("Prefix", "p/");
  w.Open("CommonPrefixes").Add("Prefix", "p/").Close("CommonPrefixes");
  EXPECT_EQ(w.Finish(), doc.Render());
}

TEST(XmlWriter, WithoutNamespace) {
  XmlDoc doc("Error", false);
  doc.root().Add("Code", "NoSuchKey");
  XmlWriter w("Error", false);
  w.Add("Code", "NoSuchKey");
  EXPECT_EQ(w.Finish(), doc.Render());
}

}  // namespace
}  // namespace sluice::s3
