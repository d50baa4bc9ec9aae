#include "s3/lifecycle.h"

#include <algorithm>
#include <pugixml.hpp>
#include <set>

#include "common/strings.h"
#include "s3/xml.h"

namespace sluice::s3 {
namespace {

constexpr int64_t kDayMicros = 86400LL * 1000000;
constexpr size_t kMaxRules = 1000;

Status Malformed(const std::string& why) { return Error(Err::kMalformedXML, why); }

Result<uint32_t> Count(const pugi::xml_node& parent, const char* name, uint32_t min, uint32_t max) {
  std::string text(Trim(parent.child(name).text().as_string()));
  auto v = ParseUint(text);
  if (!v || *v < min || *v > max)
    return Error(Err::kInvalidArgument, std::string("'") + name + "' must be an integer from " +
                                            std::to_string(min) + " to " + std::to_string(max));
  return static_cast<uint32_t>(*v);
}

Result<uint64_t> Size(const pugi::xml_node& parent, const char* name) {
  auto v = ParseUint(Trim(parent.child(name).text().as_string()));
  if (!v) return Error(Err::kInvalidArgument, std::string("'") + name + "' must be a byte count");
  return *v;
}

Status ParseTag(const pugi::xml_node& tag, meta::HeaderList* tags) {
  if (!tag.child("Key")) return Malformed("a Tag needs a Key");
  tags->emplace_back(tag.child("Key").text().as_string(), tag.child("Value").text().as_string());
  return Status::Ok();
}

Status ParseFilter(const pugi::xml_node& rule, LifecycleFilter* f) {
  pugi::xml_node filter = rule.child("Filter");
  pugi::xml_node legacy = rule.child("Prefix");
  if (filter && legacy) return Malformed("a Rule has a Filter or a Prefix, not both");
  if (legacy) {
    f->prefix = legacy.text().as_string();
    return Status::Ok();
  }
  if (!filter) return Status::Ok();  // no filter: every object
  int parts = 0;
  for (auto c : filter.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view n = c.name();
    parts++;
    if (n == "Prefix") {
      f->prefix = c.text().as_string();
    } else if (n == "Tag") {
      SLUICE_RETURN_IF_ERROR(ParseTag(c, &f->tags));
    } else if (n == "ObjectSizeGreaterThan") {
      SLUICE_ASSIGN_OR_RETURN(f->size_gt, Size(filter, "ObjectSizeGreaterThan"));
    } else if (n == "ObjectSizeLessThan") {
      SLUICE_ASSIGN_OR_RETURN(f->size_lt, Size(filter, "ObjectSizeLessThan"));
    } else if (n == "And") {
      for (auto a : c.children()) {
        if (a.type() != pugi::node_element) continue;
        std::string_view an = a.name();
        if (an == "Prefix")
          f->prefix = a.text().as_string();
        else if (an == "Tag")
          SLUICE_RETURN_IF_ERROR(ParseTag(a, &f->tags));
        else if (an == "ObjectSizeGreaterThan") {
          SLUICE_ASSIGN_OR_RETURN(f->size_gt, Size(c, "ObjectSizeGreaterThan"));
        } else if (an == "ObjectSizeLessThan") {
          SLUICE_ASSIGN_OR_RETURN(f->size_lt, Size(c, "ObjectSizeLessThan"));
        } else {
          return Malformed("unknown element in And: " + std::string(an));
        }
      }
    } else {
      return Malformed("unknown element in Filter: " + std::string(n));
    }
  }
  if (parts > 1) return Malformed("a Filter holds one condition; combine several with And");
  if (f->size_gt && f->size_lt && *f->size_gt >= *f->size_lt)
    return Error(Err::kInvalidArgument,
                 "ObjectSizeGreaterThan must be less than ObjectSizeLessThan");
  std::set<std::string> keys;
  for (const auto& [k, v] : f->tags)
    if (!keys.insert(k).second)
      return Error(Err::kInvalidArgument, "Duplicate Tag Keys are not allowed.");
  return Status::Ok();
}

Result<LifecycleRule> ParseRule(const pugi::xml_node& r) {
  LifecycleRule rule;
  rule.id = r.child("ID").text().as_string();
  if (rule.id.size() > 255)
    return Error(Err::kInvalidArgument, "ID length should not exceed allowed limit of 255");
  std::string status = r.child("Status").text().as_string();
  if (status != "Enabled" && status != "Disabled")
    return Malformed("Status must be Enabled or Disabled");
  rule.enabled = status == "Enabled";
  if (r.child("Transition") || r.child("NoncurrentVersionTransition"))
    return Error(Err::kNotImplemented,
                 "lifecycle transitions to other storage classes are not "
                 "implemented (every object is STANDARD)");
  SLUICE_RETURN_IF_ERROR(ParseFilter(r, &rule.filter));
  if (pugi::xml_node e = r.child("Expiration")) {
    int n = !!e.child("Days") + !!e.child("Date") + !!e.child("ExpiredObjectDeleteMarker");
    if (n != 1)
      return Malformed("an Expiration has one of Days, Date or ExpiredObjectDeleteMarker");
    if (e.child("Days")) {
      SLUICE_ASSIGN_OR_RETURN(rule.expiration_days, Count(e, "Days", 1, 1000000));
    } else if (e.child("Date")) {
      auto d = ParseIso8601(Trim(e.child("Date").text().as_string()));
      if (!d) return Malformed("Expiration Date must be an ISO 8601 date");
      if (*d % kDayMicros != 0)
        return Error(Err::kInvalidArgument, "'Date' must be at midnight GMT");
      rule.expiration_date = *d;
    } else {
      std::string v(Trim(e.child("ExpiredObjectDeleteMarker").text().as_string()));
      if (v != "true" && v != "false")
        return Malformed("ExpiredObjectDeleteMarker must be true or false");
      rule.expired_object_delete_marker = v == "true";
      if (rule.filter.NeedsTags())
        return Error(Err::kInvalidArgument,
                     "ExpiredObjectDeleteMarker cannot be specified with tags.");
    }
  }
  if (pugi::xml_node n = r.child("NoncurrentVersionExpiration")) {
    if (!n.child("NoncurrentDays"))
      return Malformed("NoncurrentVersionExpiration needs NoncurrentDays");
    SLUICE_ASSIGN_OR_RETURN(rule.noncurrent_days, Count(n, "NoncurrentDays", 1, 1000000));
    if (n.child("NewerNoncurrentVersions")) {
      SLUICE_ASSIGN_OR_RETURN(rule.newer_noncurrent_versions,
                              Count(n, "NewerNoncurrentVersions", 1, 100));
    }
  }
  if (pugi::xml_node a = r.child("AbortIncompleteMultipartUpload")) {
    SLUICE_ASSIGN_OR_RETURN(rule.abort_incomplete_days,
                            Count(a, "DaysAfterInitiation", 1, 1000000));
    if (rule.filter.NeedsTags() || rule.filter.size_gt || rule.filter.size_lt)
      return Error(Err::kInvalidArgument,
                   "AbortIncompleteMultipartUpload cannot be specified with Tags or object sizes.");
  }
  if (!rule.expiration_days && !rule.expiration_date && !r.child("Expiration") &&
      !rule.noncurrent_days && !rule.abort_incomplete_days)
    return Error(Err::kInvalidRequest, "At least one action needs to be specified in a rule");
  return rule;
}

void RenderFilter(XmlNode rule, const LifecycleFilter& f) {
  XmlNode filter = rule.Child("Filter");
  int conds = !f.prefix.empty() + static_cast<int>(f.tags.size()) + !!f.size_gt + !!f.size_lt;
  XmlNode into = conds > 1 ? filter.Child("And") : filter;
  if (!f.prefix.empty() || conds == 0) into.Add("Prefix", f.prefix);
  for (const auto& [k, v] : f.tags) into.Child("Tag").Add("Key", k).Add("Value", v);
  if (f.size_gt) into.Add("ObjectSizeGreaterThan", *f.size_gt);
  if (f.size_lt) into.Add("ObjectSizeLessThan", *f.size_lt);
}

}  // namespace

bool LifecycleFilter::Matches(std::string_view key, uint64_t size,
                              const meta::HeaderList& object_tags) const {
  if (!key.starts_with(prefix)) return false;
  if (size_gt && !(size > *size_gt)) return false;
  if (size_lt && !(size < *size_lt)) return false;
  for (const auto& t : tags)
    if (std::find(object_tags.begin(), object_tags.end(), t) == object_tags.end()) return false;
  return true;
}

Result<LifecycleConfig> ParseLifecycle(std::string_view xml) {
  pugi::xml_document doc;
  SLUICE_RETURN_IF_ERROR(ParseXml(xml, "LifecycleConfiguration", &doc));
  LifecycleConfig c;
  std::set<std::string> ids;
  for (auto r : doc.document_element().children("Rule")) {
    if (c.rules.size() == kMaxRules) return Malformed("at most 1,000 rules");
    SLUICE_ASSIGN_OR_RETURN(LifecycleRule rule, ParseRule(r));
    if (rule.id.empty()) rule.id = "rule-" + std::to_string(c.rules.size() + 1);
    if (!ids.insert(rule.id).second)
      return Error(Err::kInvalidArgument,
                   "Rule ID must be unique. Found same ID for more than one rule");
    c.rules.push_back(std::move(rule));
  }
  if (c.rules.empty()) return Malformed("a LifecycleConfiguration has at least one Rule");
  return c;
}

std::string RenderLifecycle(const LifecycleConfig& c) {
  XmlDoc doc("LifecycleConfiguration");
  for (const auto& r : c.rules) {
    XmlNode rule = doc.root().Child("Rule");
    rule.Add("ID", r.id);
    RenderFilter(rule, r.filter);
    rule.Add("Status", r.enabled ? "Enabled" : "Disabled");
    if (r.expiration_days)
      rule.Child("Expiration").Add("Days", *r.expiration_days);
    else if (r.expiration_date)
      rule.Child("Expiration").Add("Date", FormatIso8601(*r.expiration_date));
    else if (r.expired_object_delete_marker)
      rule.Child("Expiration").AddBool("ExpiredObjectDeleteMarker", true);
    if (r.noncurrent_days) {
      XmlNode n = rule.Child("NoncurrentVersionExpiration");
      n.Add("NoncurrentDays", *r.noncurrent_days);
      if (r.newer_noncurrent_versions)
        n.Add("NewerNoncurrentVersions", *r.newer_noncurrent_versions);
    }
    if (r.abort_incomplete_days)
      rule.Child("AbortIncompleteMultipartUpload")
          .Add("DaysAfterInitiation", *r.abort_incomplete_days);
  }
  return doc.Render();
}

int64_t ExpiryAfterDays(int64_t start_micros, uint32_t days) {
  int64_t t = start_micros + static_cast<int64_t>(days) * kDayMicros;
  int64_t rem = ((t % kDayMicros) + kDayMicros) % kDayMicros;
  return rem == 0 ? t : t - rem + kDayMicros;
}

std::optional<Expiry> ExpiryOf(const LifecycleConfig& c, std::string_view key,
                               const meta::ObjectMeta& m) {
  std::optional<Expiry> best;
  for (const auto& r : c.rules) {
    if (!r.enabled || (!r.expiration_days && !r.expiration_date)) continue;
    if (!r.filter.Matches(key, m.size, m.tags)) continue;
    int64_t at = r.expiration_days ? ExpiryAfterDays(m.mtime_micros, *r.expiration_days)
                                   : *r.expiration_date;
    if (!best || at < best->at_micros) best = Expiry{at, r.id};
  }
  return best;
}

std::string ExpirationHeader(const Expiry& e) {
  return "expiry-date=\"" + FormatHttpDate(e.at_micros) + "\", rule-id=\"" + e.rule_id + "\"";
}

}  // namespace sluice::s3
