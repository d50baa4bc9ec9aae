#include "cli/admin.h"

#include <sluice/client.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sluice::cli {
namespace {

using nlohmann::json;
constexpr char kAdmin[] = "/_sluice/admin/v1/";

std::string ReadInput(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) throw client::ClientError("cannot read " + path);
    ss << in.rdbuf();
  }
  return ss.str();
}

// Rows as an aligned table (terminal) — the caller chose the columns.
void PrintTable(const std::vector<std::string>& cols,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(cols.size());
  for (size_t i = 0; i < cols.size(); i++) w[i] = cols[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); i++) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < cols.size(); i++) {
      std::string cell = i < r.size() ? r[i] : "";
      out += cell + (i + 1 < cols.size() ? std::string(w[i] - cell.size() + 2, ' ') : "");
    }
    std::printf("%s\n", out.c_str());
  };
  line(cols);
  for (const auto& r : rows) line(r);
}

std::string Str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string s;
    for (const auto& e : j) s += (s.empty() ? "" : ",") + Str(e);
    return s.empty() ? "-" : s;
  }
  return j.dump();
}

}  // namespace

struct AdminCommand::Impl {
  CLI::App* admin = nullptr;
  CLI::App* snapshot = nullptr;
  client::Settings flags;
  bool as_json = false;
  bool insecure = false;
  std::string a1, a2;
  bool admin_flag = false;
  std::string t_endpoint, t_bucket, t_ak, t_sk, t_ca, t_region;  // replication target add
  bool existing = false;                                         // replication resync
  std::function<int(client::Client&)> action;

  // One admin API call; prints the result and returns the exit code.
  int Call(client::Client& c, const std::string& method, const std::string& path,
           const std::string& body, const std::function<void(const json&)>& show) {
    client::Response r = c.Send(method, kAdmin + path, "", body);
    json j = json::parse(r.body, nullptr, false);
    if (r.status >= 300) {
      std::string code = j.is_object() ? j.value("code", "") : "";
      std::string msg = j.is_object() ? j.value("message", r.body) : r.body;
      std::fprintf(stderr, "error: %s%s%s (HTTP %d)\n", code.c_str(), code.empty() ? "" : ": ",
                   msg.c_str(), r.status);
      return r.status == 403 ? 3 : r.status == 404 ? 4 : 1;
    }
    if (as_json || !isatty(STDOUT_FILENO) || !show) {
      std::printf("%s\n", j.is_discarded() ? r.body.c_str() : j.dump(2).c_str());
    } else {
      show(j);
    }
    return 0;
  }
};

void AdminCommand::Register(CLI::App& app) {
  impl_ = std::make_shared<Impl>();
  auto* I = impl_.get();
  auto* a =
      app.add_subcommand("admin", "Manage users, access keys and policies of a sluice server");
  I->admin = a;
  a->require_subcommand(1);
  // The connection flags `admin` and `snapshot` share.
  auto connection_flags = [I](CLI::App* c) {
    c->add_option("--endpoint", I->flags.endpoint,
                  "Server URL (default: $AWS_ENDPOINT_URL, ~/.aws/config)");
    c->add_option("--access-key", I->flags.access_key,
                  "An admin's access key (default: the AWS chain)");
    c->add_option("--secret-key", I->flags.secret_key, "Its secret key");
    c->add_option("--profile", I->flags.profile, "Profile in ~/.aws/credentials and ~/.aws/config");
    c->add_option("--ca-bundle", I->flags.ca_file, "PEM CA bundle for an HTTPS endpoint");
    c->add_flag("--insecure", I->insecure, "Do not verify the server's TLS certificate");
    c->add_flag("--json", I->as_json,
                "Print the server's JSON (the default when not on a terminal)");
  };
  connection_flags(a);

  auto users_table = [I](const json& j) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : j["users"])
      rows.push_back({Str(u["name"]), u["admin"].get<bool>() ? "yes" : "no", Str(u["policies"]),
                      std::to_string(u["keys"].get<int>()), Str(u["created"])});
    PrintTable({"USER", "ADMIN", "POLICIES", "KEYS", "CREATED"}, rows);
  };
  auto keys_table = [](const json& j) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : j["keys"])
      rows.push_back({Str(k["access_key"]), Str(k["user"]),
                      k["enabled"].get<bool>() ? "enabled" : "disabled", Str(k["created"])});
    PrintTable({"ACCESS KEY", "USER", "STATUS", "CREATED"}, rows);
  };
  auto new_key = [](const json& j) {
    std::printf("access key: %s\nsecret key: %s\n", Str(j["access_key"]).c_str(),
                Str(j["secret_key"]).c_str());
    if (j.contains("disabled"))
      std::printf("(disabled the old key %s)\n", Str(j["disabled"]).c_str());
  };
  auto ok = [](const json&) { std::printf("ok\n"); };
  auto enc = [](const std::string& s) { return client::UrlEncode(s, false); };

  auto* user = a->add_subcommand("user", "Users")->require_subcommand(1);
  auto* ua = user->add_subcommand("add", "Create a user");
  ua->add_option("name", I->a1)->required();
  ua->add_flag("--admin", I->admin_flag, "May use the admin API and do every S3 action");
  ua->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(
          c, "PUT", "users/" + enc(I->a1), json{{"admin", I->admin_flag}}.dump(),
          [](const json& j) { std::printf("created user %s\n", Str(j["name"]).c_str()); });
    };
  });
  user->add_subcommand("list", "List users")->callback([=] {
    I->action = [=](client::Client& c) { return I->Call(c, "GET", "users", "", users_table); };
  });
  auto* ui = user->add_subcommand("info", "Show one user");
  ui->add_option("name", I->a1)->required();
  ui->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "GET", "users/" + enc(I->a1), "", [&](const json& j) {
        users_table(json{{"users", {j}}});
      });
    };
  });
  auto* ur = user->add_subcommand("remove", "Delete a user with its keys and sessions");
  ur->add_option("name", I->a1)->required();
  ur->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "DELETE", "users/" + enc(I->a1), "", ok);
    };
  });

  auto* key = a->add_subcommand("key", "Access keys")->require_subcommand(1);
  auto* kc =
      key->add_subcommand("create", "Create an access key for a user (the secret is shown once)");
  kc->add_option("user", I->a1)->required();
  kc->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "POST", "users/" + enc(I->a1) + "/keys", "", new_key);
    };
  });
  auto* kl = key->add_subcommand("list", "List access keys (of one user, or all)");
  kl->add_option("user", I->a1);
  kl->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "GET", I->a1.empty() ? "keys" : "users/" + enc(I->a1) + "/keys", "",
                     keys_table);
    };
  });
  for (const char* verb : {"disable", "enable", "rotate", "remove"}) {
    auto* k =
        key->add_subcommand(verb, std::string(verb) == "rotate"
                                      ? "Issue a new key for the same user and disable this one"
                                      : std::string(verb) + " an access key");
    k->add_option("access-key", I->a1)->required();
    std::string v = verb;
    k->callback([=] {
      I->action = [=](client::Client& c) {
        if (v == "remove") return I->Call(c, "DELETE", "keys/" + enc(I->a1), "", ok);
        return I->Call(c, "POST", "keys/" + enc(I->a1) + "/" + v, "", v == "rotate" ? new_key : ok);
      };
    });
  }

  auto* pol = a->add_subcommand("policy", "Identity policies (IAM JSON)")->require_subcommand(1);
  auto* ps =
      pol->add_subcommand("set", "Create or replace a named policy from a file (- for stdin)");
  ps->add_option("name", I->a1)->required();
  ps->add_option("file", I->a2)->required();
  ps->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "PUT", "policies/" + enc(I->a1), ReadInput(I->a2), ok);
    };
  });
  auto* pg = pol->add_subcommand("get", "Print a policy document");
  pg->add_option("name", I->a1)->required();
  pg->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "GET", "policies/" + enc(I->a1), "",
                     [](const json& j) { std::printf("%s\n", j["document"].dump(2).c_str()); });
    };
  });
  pol->add_subcommand("list", "List policies and the users they are attached to")->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "GET", "policies", "", [](const json& j) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& p : j["policies"]) rows.push_back({Str(p["name"]), Str(p["users"])});
        PrintTable({"POLICY", "ATTACHED TO"}, rows);
      });
    };
  });
  auto* pr = pol->add_subcommand("remove", "Delete a policy (detach it first)");
  pr->add_option("name", I->a1)->required();
  pr->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "DELETE", "policies/" + enc(I->a1), "", ok);
    };
  });
  for (const char* verb : {"attach", "detach"}) {
    auto* p = pol->add_subcommand(verb, std::string(verb) + " a policy to or from a user");
    p->add_option("name", I->a1)->required();
    p->add_option("user", I->a2)->required();
    std::string v = verb;
    p->callback([=] {
      I->action = [=](client::Client& c) {
        return I->Call(c, v == "attach" ? "PUT" : "DELETE",
                       "users/" + enc(I->a2) + "/policies/" + enc(I->a1), "", ok);
      };
    });
  }

  // `sluice admin replication ...`: remote targets, status and resync. The target's own
  // endpoint and key are --target-* flags; --endpoint and the AWS chain still name this server.
  auto* rep = a->add_subcommand("replication", "Bucket replication: remote targets, status, resync")
                  ->require_subcommand(1);
  auto* tgt = rep->add_subcommand("target", "Remote S3 endpoints a replication rule can name")
                  ->require_subcommand(1);
  auto targets_table = [](const json& list) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : list)
      rows.push_back({Str(t["name"]), Str(t["endpoint"]) + "/" + Str(t["bucket"]),
                      Str(t["access_key"]), t["sluice"].get<bool>() ? "sluice" : "s3",
                      t["healthy"].get<bool>() ? "ok" : "error: " + Str(t["last_error"])});
    PrintTable({"TARGET", "ENDPOINT/BUCKET", "ACCESS KEY", "KIND", "HEALTH"}, rows);
  };
  auto* ta = tgt->add_subcommand(
      "add", "Register (or replace) a target after checking it is reachable and writable");
  ta->add_option("name", I->a1)->required();
  ta->add_option("--target-endpoint", I->t_endpoint, "The target's URL, http:// or https://")
      ->required();
  ta->add_option("--target-bucket", I->t_bucket, "The bucket on the target (versioning Enabled)")
      ->required();
  ta->add_option("--target-access-key", I->t_ak, "An access key that may write to it")->required();
  ta->add_option("--target-secret-key", I->t_sk, "Its secret key (stored sealed)")->required();
  ta->add_option("--target-ca-bundle", I->t_ca, "PEM CA bundle to verify an https target");
  ta->add_option("--target-region", I->t_region,
                 "The target's region for SigV4 (default us-east-1)");
  ta->callback([=] {
    I->action = [=](client::Client& c) {
      json body = json{{"endpoint", I->t_endpoint},
                       {"bucket", I->t_bucket},
                       {"access_key", I->t_ak},
                       {"secret_key", I->t_sk}};
      if (!I->t_ca.empty()) body["ca_bundle"] = ReadInput(I->t_ca);
      if (!I->t_region.empty()) body["region"] = I->t_region;
      return I->Call(c, "PUT", "replication/targets/" + enc(I->a1), body.dump(),
                     [](const json& j) { std::printf("%s\n", Str(j["arn"]).c_str()); });
    };
  });
  tgt->add_subcommand("ls", "List targets and their health")->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "GET", "replication/targets", "",
                     [=](const json& j) { targets_table(j["targets"]); });
    };
  });
  auto* tr = tgt->add_subcommand("rm", "Remove a target no bucket's rules name");
  tr->add_option("name", I->a1)->required();
  tr->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "DELETE", "replication/targets/" + enc(I->a1), "", ok);
    };
  });
  auto* rs = rep->add_subcommand(
      "status", "Backlog, oldest pending age, throughput, failures and targets' health");
  rs->add_option("bucket", I->a1);
  rs->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(
          c, "GET", "replication/status" + (I->a1.empty() ? "" : "/" + enc(I->a1)), "",
          [=](const json& j) {
            std::vector<std::vector<std::string>> rows;
            char age[32];
            for (const auto& b : j["buckets"]) {
              std::snprintf(age, sizeof age, "%.1fs", b["oldest_pending_s"].get<double>());
              rows.push_back(
                  {Str(b["bucket"]), Str(b["destination"]), Str(b["pending_objects"]),
                   Str(b["pending_bytes"]) + (b["pending_bytes_partial"].get<bool>() ? "+" : ""),
                   age});
            }
            PrintTable({"BUCKET", "DESTINATION", "PENDING", "BYTES", "OLDEST"}, rows);
            std::printf(
                "\ncompleted %s (%s bytes), failed %s; last minute %.1f objects/s, %.2f MiB/s\n",
                Str(j["completed"]).c_str(), Str(j["completed_bytes"]).c_str(),
                Str(j["failed"]).c_str(), j["objects_per_s"].get<double>(),
                j["bytes_per_s"].get<double>() / (1 << 20));
            if (!j["retrying"].empty()) {
              std::printf("\nretrying:\n");
              rows.clear();
              for (const auto& w : j["retrying"])
                rows.push_back({Str(w["bucket"]) + "/" + Str(w["key"]), Str(w["version"]),
                                Str(w["attempts"]), Str(w["last_error"])});
              PrintTable({"OBJECT", "VERSION", "ATTEMPTS", "LAST ERROR"}, rows);
            }
            if (!j["failures"].empty()) {
              std::printf("\nfailed (resync to retry):\n");
              rows.clear();
              for (const auto& f : j["failures"])
                rows.push_back({Str(f["bucket"]) + "/" + Str(f["key"]), Str(f["version"]),
                                Str(f["at"]), Str(f["error"])});
              PrintTable({"OBJECT", "VERSION", "AT", "ERROR"}, rows);
            }
            if (!j["targets"].empty()) {
              std::printf("\n");
              targets_table(j["targets"]);
            }
          });
    };
  });
  auto* rr = rep->add_subcommand("resync", "Queue a bucket's FAILED versions again");
  rr->add_option("bucket", I->a1)->required();
  rr->add_flag("--existing", I->existing,
               "Also queue versions written before the rules (never replicated)");
  rr->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "POST", "replication/resync/" + enc(I->a1),
                     json{{"existing", I->existing}}.dump(), [](const json& j) {
                       std::printf("queued %s failed and %s existing versions of %s\n",
                                   Str(j["failed"]).c_str(), Str(j["existing"]).c_str(),
                                   Str(j["bucket"]).c_str());
                     });
    };
  });

  // `sluice snapshot ...`: the same connection flags, its own top-level command.
  auto* sn = app.add_subcommand("snapshot",
                                "Read-only snapshots of versioned buckets, readable as buckets");
  I->snapshot = sn;
  sn->require_subcommand(1);
  connection_flags(sn);
  auto snap_row = [](const json& s) {
    return std::vector<std::string>{Str(s["name"]), Str(s["bucket"]), Str(s["created"])};
  };
  auto* sc = sn->add_subcommand(
      "create", "Snapshot BUCKET (versioning Enabled) as the read-only bucket NAME");
  sc->add_option("bucket", I->a1)->required();
  sc->add_option("name", I->a2)->required();
  sc->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "PUT", "snapshots/" + enc(I->a2), json{{"bucket", I->a1}}.dump(),
                     [=](const json& j) {
                       PrintTable({"SNAPSHOT", "OF BUCKET", "AS OF"}, {snap_row(j)});
                     });
    };
  });
  auto* sl = sn->add_subcommand("list", "List snapshots");
  sl->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "GET", "snapshots", "", [=](const json& j) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : j["snapshots"]) rows.push_back(snap_row(s));
        PrintTable({"SNAPSHOT", "OF BUCKET", "AS OF"}, rows);
      });
    };
  });
  auto* sr = sn->add_subcommand("rm", "Remove a snapshot (its versions become deletable again)");
  sr->add_option("name", I->a1)->required();
  sr->callback([=] {
    I->action = [=](client::Client& c) {
      return I->Call(c, "DELETE", "snapshots/" + enc(I->a1), "", ok);
    };
  });

  auto* bp = a->add_subcommand("bucket-policy", "Bucket policies (through the S3 API)")
                 ->require_subcommand(1);
  auto s3call = [I](client::Client& c, const std::string& method, const std::string& body) {
    client::Response r = c.Send(method, "/" + client::UrlEncode(I->a1, false), "policy=", body);
    if (r.status >= 300) {
      std::fprintf(stderr, "error: HTTP %d\n%s\n", r.status, r.body.c_str());
      return r.status == 403 ? 3 : r.status == 404 ? 4 : 1;
    }
    if (method == "GET") {
      json j = json::parse(r.body, nullptr, false);
      std::printf("%s\n", j.is_discarded() ? r.body.c_str() : j.dump(2).c_str());
    } else if (!I->as_json) {
      std::printf("ok\n");
    }
    return 0;
  };
  auto* bs = bp->add_subcommand("set", "Set a bucket's policy from a file (- for stdin)");
  bs->add_option("bucket", I->a1)->required();
  bs->add_option("file", I->a2)->required();
  bs->callback(
      [=] { I->action = [=](client::Client& c) { return s3call(c, "PUT", ReadInput(I->a2)); }; });
  auto* bg = bp->add_subcommand("get", "Print a bucket's policy");
  bg->add_option("bucket", I->a1)->required();
  bg->callback([=] { I->action = [=](client::Client& c) { return s3call(c, "GET", ""); }; });
  auto* br = bp->add_subcommand("remove", "Delete a bucket's policy");
  br->add_option("bucket", I->a1)->required();
  br->callback([=] { I->action = [=](client::Client& c) { return s3call(c, "DELETE", ""); }; });
}

bool AdminCommand::parsed() const {
  return impl_ && (impl_->admin->parsed() || impl_->snapshot->parsed());
}

int AdminCommand::Run() {
  try {
    client::Settings s = impl_->flags;
    s.verify_tls = !impl_->insecure;
    client::Client c(client::Resolve(s));
    return impl_->action ? impl_->action(c) : 2;
  } catch (const client::ClientError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}

}  // namespace sluice::cli
