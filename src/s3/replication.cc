#include "s3/replication.h"

#include <algorithm>
#include <cctype>
#include <pugixml.hpp>
#include <set>

#include "common/names.h"
#include "common/strings.h"
#include "s3/xml.h"

namespace sluice::s3 {
namespace {

constexpr size_t kMaxRules = 1000;
constexpr std::string_view kBucketArn = "arn:aws:s3:::";
constexpr std::string_view kSluiceTargetArn = "arn:sluice:replication:::";

Status Malformed(const std::string& why) { return Error(Err::kMalformedXML, why); }
Status Invalid(const std::string& why) { return Error(Err::kInvalidArgument, why); }
Status Refused(const std::string& why) { return Error(Err::kInvalidRequest, why); }
Status NotYet(const std::string& what) {
  return Error(Err::kNotImplemented, what + " is not supported by this server yet");
}

Result<bool> EnabledStatus(const pugi::xml_node& n, const char* where) {
  std::string s(Trim(n.child("Status").text().as_string()));
  if (s == "Enabled") return true;
  if (s == "Disabled") return false;
  return Malformed(std::string(where) + " Status must be Enabled or Disabled");
}

Status ParseTag(const pugi::xml_node& tag, meta::HeaderList* tags) {
  if (!tag.child("Key")) return Malformed("a Tag needs a Key");
  std::string key = tag.child("Key").text().as_string();
  for (const auto& [k, v] : *tags)
    if (k == key) return Invalid("Duplicate Tag Keys are not allowed.");
  tags->emplace_back(std::move(key), tag.child("Value").text().as_string());
  return Status::Ok();
}

Status ParseFilter(const pugi::xml_node& filter, ReplicationFilter* f) {
  int parts = 0;
  for (auto c : filter.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view n = c.name();
    parts++;
    if (n == "Prefix") {
      f->prefix = c.text().as_string();
    } else if (n == "Tag") {
      SLUICE_RETURN_IF_ERROR(ParseTag(c, &f->tags));
    } else if (n == "And") {
      for (auto a : c.children()) {
        if (a.type() != pugi::node_element) continue;
        std::string_view an = a.name();
        if (an == "Prefix")
          f->prefix = a.text().as_string();
        else if (an == "Tag")
          SLUICE_RETURN_IF_ERROR(ParseTag(a, &f->tags));
        else
          return Malformed("unknown element in And: " + std::string(an));
      }
    } else {
      return Malformed("unknown element in Filter: " + std::string(n));
    }
  }
  if (parts > 1) return Malformed("a Filter holds one condition; combine several with And");
  return Status::Ok();
}

Status ParseDestination(const pugi::xml_node& d, ReplicationRule* rule) {
  if (!d) return Malformed("a Rule needs a Destination");
  for (auto c : d.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view n = c.name();
    if (n == "Bucket" || n == "StorageClass") continue;
    if (n == "Account" || n == "AccessControlTranslation")
      return NotYet("Destination " + std::string(n) + " (cross-account ownership)");
    if (n == "EncryptionConfiguration") return NotYet("replication of KMS-encrypted objects");
    if (n == "ReplicationTime" || n == "Metrics") return NotYet("Replication Time Control");
    return Malformed("unknown element in Destination: " + std::string(n));
  }
  std::string arn(Trim(d.child("Bucket").text().as_string()));
  if (arn.rfind(kSluiceTargetArn, 0) == 0) {
    std::string name = arn.substr(kSluiceTargetArn.size());
    if (!ValidTargetName(name)) return Invalid("Invalid replication target ARN: '" + arn + "'");
    rule->dest_target = std::move(name);
  }
  auto bucket = rule->dest_target.empty() ? BucketOfArn(arn) : std::optional<std::string>("");
  if (!bucket) return Invalid("Invalid bucket ARN: '" + arn + "'");
  rule->dest_bucket = *bucket;
  rule->storage_class = Trim(d.child("StorageClass").text().as_string());
  if (!rule->storage_class.empty() && rule->storage_class != "STANDARD")
    return Invalid("Invalid storage class: " + rule->storage_class +
                   " (this server has one storage class, STANDARD)");
  return Status::Ok();
}

Result<ReplicationRule> ParseRule(const pugi::xml_node& r) {
  ReplicationRule rule;
  rule.id = r.child("ID").text().as_string();
  if (rule.id.size() > 255) return Invalid("Rule ID must be at most 255 characters");
  SLUICE_ASSIGN_OR_RETURN(rule.enabled, EnabledStatus(r, "Rule"));
  for (auto c : r.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view n = c.name();
    if (n == "SourceSelectionCriteria") return NotYet("SourceSelectionCriteria");
    if (n != "ID" && n != "Priority" && n != "Status" && n != "Filter" && n != "Prefix" &&
        n != "DeleteMarkerReplication" && n != "ExistingObjectReplication" && n != "Destination")
      return Malformed("unknown element in Rule: " + std::string(n));
  }
  pugi::xml_node filter = r.child("Filter");
  pugi::xml_node legacy = r.child("Prefix");
  if (filter && legacy) return Malformed("a Rule has a Filter or a Prefix, not both");
  rule.legacy = !filter;
  if (legacy) rule.filter.prefix = legacy.text().as_string();
  if (filter) SLUICE_RETURN_IF_ERROR(ParseFilter(filter, &rule.filter));
  pugi::xml_node dmr = r.child("DeleteMarkerReplication");
  if (rule.legacy) {
    // The V1 schema: no Priority, delete markers always replicated.
    if (r.child("Priority"))
      return Invalid("Priority cannot be used with the Prefix element; use a Filter.");
    if (dmr)
      return Invalid(
          "DeleteMarkerReplication cannot be used with the Prefix element; use a Filter.");
    rule.delete_markers = true;
  } else {
    std::string p(Trim(r.child("Priority").text().as_string()));
    auto v = ParseUint(p);
    if (!r.child("Priority"))
      return Invalid(
          "Priority must be specified for this version of Cross Region Replication configuration "
          "schema.");
    if (!v || *v > 0x7fffffff) return Invalid("Priority must be a non-negative integer");
    rule.priority = static_cast<uint32_t>(*v);
    if (!dmr)
      return Refused(
          "DeleteMarkerReplication must be specified for this version of Cross Region Replication "
          "configuration schema.");
    SLUICE_ASSIGN_OR_RETURN(rule.delete_markers, EnabledStatus(dmr, "DeleteMarkerReplication"));
    if (rule.delete_markers && !rule.filter.tags.empty())
      return Refused("Delete marker replication is not supported if any Tag filter is specified.");
  }
  if (pugi::xml_node e = r.child("ExistingObjectReplication")) {
    SLUICE_ASSIGN_OR_RETURN(rule.existing_objects, EnabledStatus(e, "ExistingObjectReplication"));
  }
  SLUICE_RETURN_IF_ERROR(ParseDestination(r.child("Destination"), &rule));
  return rule;
}

}  // namespace

bool ReplicationFilter::Matches(std::string_view key, const meta::HeaderList& object_tags) const {
  if (key.substr(0, prefix.size()) != prefix) return false;
  for (const auto& t : tags)
    if (std::find(object_tags.begin(), object_tags.end(), t) == object_tags.end()) return false;
  return true;
}

const ReplicationRule* ReplicationConfig::RuleFor(std::string_view key,
                                                  const meta::HeaderList& tags) const {
  for (const auto& r : rules)
    if (r.enabled && r.filter.Matches(key, tags)) return &r;
  return nullptr;
}

const ReplicationRule* ReplicationConfig::MarkerRuleFor(std::string_view key) const {
  for (const auto& r : rules)
    if (r.enabled && r.filter.tags.empty() && r.filter.Matches(key, {}))
      return r.delete_markers ? &r : nullptr;  // the rule that applies decides
  return nullptr;
}

void MarkForReplication(const ReplicationConfig* c, std::string_view key, meta::ObjectMeta* m) {
  m->replication_status.clear();
  if (c && c->RuleFor(key, m->tags)) m->replication_status = meta::kReplicationPending;
}

bool ReplicatesMarker(const ReplicationConfig* c, std::string_view key) {
  return c && c->MarkerRuleFor(key);
}

bool ValidTargetName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0])))
    return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
  });
}

std::optional<std::string> BucketOfArn(std::string_view arn) {
  if (arn.substr(0, kBucketArn.size()) != kBucketArn) return std::nullopt;
  std::string_view name = arn.substr(kBucketArn.size());
  if (!ParseBucketName(name).ok()) return std::nullopt;
  return std::string(name);
}

Result<ReplicationConfig> ParseReplication(std::string_view xml) {
  pugi::xml_document doc;
  SLUICE_RETURN_IF_ERROR(ParseXml(xml, "ReplicationConfiguration", &doc));
  pugi::xml_node root = doc.child("ReplicationConfiguration");
  ReplicationConfig c;
  c.role = Trim(root.child("Role").text().as_string());
  std::set<std::string> ids;
  std::set<uint32_t> priorities;
  bool legacy = false, current = false;
  for (auto r : root.children()) {
    if (r.type() != pugi::node_element) continue;
    std::string_view n = r.name();
    if (n == "Role") continue;
    if (n != "Rule")
      return Malformed("unknown element in ReplicationConfiguration: " + std::string(n));
    if (c.rules.size() == kMaxRules)
      return Invalid("a replication configuration holds at most 1000 rules");
    SLUICE_ASSIGN_OR_RETURN(ReplicationRule rule, ParseRule(r));
    if (!rule.id.empty() && !ids.insert(rule.id).second) return Invalid("Rule Id must be unique.");
    (rule.legacy ? legacy : current) = true;
    if (!rule.legacy && !priorities.insert(rule.priority).second)
      return Refused("Found duplicate priority " + std::to_string(rule.priority) +
                     "; each rule needs its own Priority.");
    c.rules.push_back(std::move(rule));
  }
  if (c.rules.empty()) return Malformed("a replication configuration needs at least one Rule");
  if (legacy && current)
    return Refused("Rules with a Prefix and rules with a Filter cannot be mixed.");
  if (legacy) {
    // V1: prefixes must not overlap, and a bucket has one destination.
    for (size_t i = 0; i < c.rules.size(); i++)
      for (size_t j = i + 1; j < c.rules.size(); j++) {
        const auto& a = c.rules[i].filter.prefix;
        const auto& b = c.rules[j].filter.prefix;
        if (a.rfind(b, 0) == 0 || b.rfind(a, 0) == 0)
          return Refused("Found overlapping prefixes '" + a + "' and '" + b + "'");
      }
  }
  for (const auto& r : c.rules)
    if (r.dest_bucket != c.rules[0].dest_bucket || r.dest_target != c.rules[0].dest_target)
      return Refused("All rules must name the same destination bucket.");
  std::stable_sort(
      c.rules.begin(), c.rules.end(),
      [](const ReplicationRule& a, const ReplicationRule& b) { return a.priority > b.priority; });
  return c;
}

std::string RenderReplication(const ReplicationConfig& c) {
  XmlDoc doc("ReplicationConfiguration");
  if (!c.role.empty()) doc.root().Add("Role", c.role);
  for (const auto& r : c.rules) {
    XmlNode rule = doc.root().Child("Rule");
    if (!r.id.empty()) rule.Add("ID", r.id);
    if (r.legacy) {
      rule.Add("Prefix", r.filter.prefix);
    } else {
      rule.Add("Priority", r.priority);
      XmlNode f = rule.Child("Filter");
      const size_t parts = (r.filter.prefix.empty() ? 0 : 1) + r.filter.tags.size();
      XmlNode where = parts > 1 ? f.Child("And") : f;
      if (!r.filter.prefix.empty() || parts == 0) where.Add("Prefix", r.filter.prefix);
      for (const auto& [k, v] : r.filter.tags) {
        XmlNode t = where.Child("Tag");
        t.Add("Key", k).Add("Value", v);
      }
    }
    rule.Add("Status", r.enabled ? "Enabled" : "Disabled");
    if (!r.legacy)
      rule.Child("DeleteMarkerReplication")
          .Add("Status", r.delete_markers ? "Enabled" : "Disabled");
    if (r.existing_objects) rule.Child("ExistingObjectReplication").Add("Status", "Enabled");
    XmlNode d = rule.Child("Destination");
    d.Add("Bucket", r.dest_target.empty() ? std::string(kBucketArn) + r.dest_bucket
                                          : std::string(kSluiceTargetArn) + r.dest_target);
    if (!r.storage_class.empty()) d.Add("StorageClass", r.storage_class);
  }
  return doc.Render();
}

}  // namespace sluice::s3
