#include "storage/rados/rados_data_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>

namespace sluice::storage {

using io::RadosStatus;

std::string RadosDataStore::StripeName(const std::string& id, uint64_t n) {
  return "d." + id + "." + std::to_string(n);
}

namespace {

constexpr char kSizeAttr[] = "size";
constexpr char kLeaseLock[] = "sluice.lease";
constexpr char kGateways[] = "gateways";
constexpr char kIntentsPrefix[] = "intents.";

Result<uint64_t> ReadSize(librados::IoCtx& data, const std::string& id) {
  librados::bufferlist bl;
  int r = data.getxattr(RadosDataStore::StripeName(id, 0), kSizeAttr, bl);
  // Stripe 0 without its size: written, never committed.
  if (r == -ENODATA) return Status(Err::kNotFound, "data " + id + " was never committed");
  if (r < 0) return RadosStatus(r, "data " + id);
  std::string s = bl.to_str();
  uint64_t size = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), size);
  if (ec != std::errc() || end != s.data() + s.size())
    return Status(Err::kCorruption, "data " + id + " has a bad size attribute");
  return size;
}

// Starts an operation and lets it finish on its own (a discard: failures are recovery's).
void FireAndForget(librados::IoCtx& io, const std::string& oid,
                   librados::ObjectWriteOperation* op) {
  librados::AioCompletion* c = librados::Rados::aio_create_completion();
  io.aio_operate(oid, c, op);
  c->release();
}

}  // namespace

class RadosWriter final : public DataWriter {
 public:
  RadosWriter(RadosDataStore* s, std::string id) : s_(s), id_(std::move(id)) {}
  ~RadosWriter() override {
    if (committed_) return;
    // Discard without waiting: drop the completions (librados finishes the writes), then
    // remove what may have been written and the intent. A failure here leaves the intent,
    // and recovery removes the rest.
    for (auto* c : inflight_) c->release();
    inflight_.clear();
    const uint64_t stripes = size_ / RadosDataStore::kStripe + 1;
    for (uint64_t n = 0; n < stripes; n++) {
      librados::ObjectWriteOperation op;
      op.remove();
      FireAndForget(s_->data_, RadosDataStore::StripeName(id_, n), &op);
    }
    librados::ObjectWriteOperation op;
    op.omap_rm_keys(std::set<std::string>{id_});
    FireAndForget(s_->meta_, s_->intents_, &op);
  }
  const std::string& id() const override { return id_; }
  uint64_t size() const override { return size_; }
  Shape shape() const override { return {true, RadosDataStore::kPiece, 1}; }

  Status Append(const void* data, size_t n) override {
    SLUICE_RETURN_IF_ERROR(failed_);
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const uint64_t stripe = size_ / RadosDataStore::kStripe;
      const uint64_t at = size_ % RadosDataStore::kStripe;
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n, RadosDataStore::kStripe - at));
      librados::bufferlist bl;
      bl.append(p, static_cast<unsigned>(len));  // a copy: the caller reuses its buffer
      librados::AioCompletion* c = librados::Rados::aio_create_completion();
      int r = s_->data_.aio_write(RadosDataStore::StripeName(id_, stripe), c, bl, len, at);
      if (r < 0) {
        c->release();
        return failed_ = RadosStatus(r, "writing data " + id_);
      }
      inflight_.push_back(c);
      while (inflight_.size() > static_cast<size_t>(RadosDataStore::kInFlight))
        SLUICE_RETURN_IF_ERROR(WaitOldest());
      size_ += len;
      p += len;
      n -= len;
    }
    return Status::Ok();
  }

  Status Commit() override {
    while (!inflight_.empty()) SLUICE_RETURN_IF_ERROR(WaitOldest());
    SLUICE_RETURN_IF_ERROR(failed_);
    SLUICE_RETURN_IF_ERROR(s_->EnsureLease());  // the log may be someone else's to settle
    // Stripe 0 carries the size, and exists even for an empty object.
    librados::ObjectWriteOperation op;
    op.create(false);
    librados::bufferlist bl;
    bl.append(std::to_string(size_));
    op.setxattr(kSizeAttr, bl);
    int r = s_->data_.operate(RadosDataStore::StripeName(id_, 0), &op);
    if (r < 0) return failed_ = RadosStatus(r, "committing data " + id_);
    committed_ = true;
    return Status::Ok();
  }

 private:
  Status WaitOldest() {
    librados::AioCompletion* c = inflight_.front();
    inflight_.pop_front();
    c->wait_for_complete();
    int r = c->get_return_value();
    c->release();
    if (r < 0 && failed_.ok()) failed_ = RadosStatus(r, "writing data " + id_);
    return failed_;
  }

  RadosDataStore* s_;
  std::string id_;
  uint64_t size_ = 0;
  std::deque<librados::AioCompletion*> inflight_;
  Status failed_ = Status::Ok();
  bool committed_ = false;
};

namespace {

class RadosReader final : public DataReader {
 public:
  RadosReader(librados::IoCtx* data, std::string id, uint64_t size, boost::asio::thread_pool* pool,
              SingleFlight<RadosDataStore::Piece>* flights)
      : data_(data), id_(std::move(id)), size_(size), pool_(pool), flights_(flights) {}
  uint64_t Size() const override { return size_; }

  Status Read(uint64_t offset, void* buf, size_t n, size_t* got) const override {
    *got = 0;
    if (offset >= size_) return Status::Ok();
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
    char* out = static_cast<char*>(buf);
    while (n > 0) {
      const uint64_t stripe = offset / RadosDataStore::kStripe;
      const uint64_t at = offset % RadosDataStore::kStripe;
      const size_t len = static_cast<size_t>(std::min<uint64_t>(n, RadosDataStore::kStripe - at));
      librados::bufferlist bl;
      int r = data_->read(RadosDataStore::StripeName(id_, stripe), bl, len, at);
      if (r < 0) return RadosStatus(r, "reading data " + id_);
      if (static_cast<size_t>(r) != len)
        return Status(Err::kCorruption, "data " + id_ + " is shorter than its size");
      bl.begin().copy(len, out);
      out += len;
      *got += len;
      offset += len;
      n -= len;
    }
    return Status::Ok();
  }

  // Pieces read on the pool, one ahead of the socket: the I/O thread never waits on the
  // cluster, and a request holds at most two pieces. Pieces follow kPiece boundaries, so
  // that GETs of the same object in flight at once ask for the same pieces and share each
  // read (RadosDataStore::piece_reads).
  Task<Status> Send(ByteSink& sink, uint64_t offset, uint64_t n, size_t) const override {
    using Piece = RadosDataStore::Piece;
    auto start = [this](uint64_t off, uint64_t len) {
      return Background<Piece>(*pool_, [this, off, len] {
        return flights_->Do(id_ + ":" + std::to_string(off) + ":" + std::to_string(len), [&] {
          Piece p;
          std::string bytes(len, '\0');
          size_t got = 0;
          p.status = Read(off, bytes.data(), len, &got);
          if (p.status.ok() && got != len)
            p.status = Status(Err::kCorruption, "short read of " + id_);
          p.bytes = std::make_shared<const std::string>(std::move(bytes));
          return p;
        });
      });
    };
    auto piece_len = [](uint64_t off, uint64_t left) {
      return std::min<uint64_t>(left, RadosDataStore::kPiece - off % RadosDataStore::kPiece);
    };
    std::optional<Background<Piece>> next;
    next.emplace(start(offset, piece_len(offset, n)));
    while (next) {
      Piece p = co_await next->Wait();
      next.reset();
      if (!p.status.ok()) co_return p.status;
      offset += p.bytes->size();
      n -= p.bytes->size();
      if (n > 0) next.emplace(start(offset, piece_len(offset, n)));
      Status w = co_await sink.Write(*p.bytes);
      if (!w.ok()) {
        if (next) {
          Piece ignored = co_await next->Wait();  // it reads through `this`: wait for it
          (void)ignored;
        }
        co_return w;
      }
    }
    co_return Status::Ok();
  }

 private:
  librados::IoCtx* data_;
  std::string id_;
  uint64_t size_;
  boost::asio::thread_pool* pool_;
  SingleFlight<RadosDataStore::Piece>* flights_;
};

}  // namespace

RadosDataStore::RadosDataStore(librados::IoCtx data, librados::IoCtx meta, std::string gateway,
                               io::Random* rnd, io::Clock* clock, boost::asio::thread_pool* pool,
                               std::chrono::seconds lease)
    : data_(std::move(data)),
      meta_(std::move(meta)),
      gateway_(std::move(gateway)),
      intents_(kIntentsPrefix + gateway_),
      rnd_(rnd),
      clock_(clock),
      pool_(pool),
      lease_(lease),
      cookie_(rnd->HexString(8)) {}

RadosDataStore::~RadosDataStore() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
  // A clean stop hands the log on at once: the next holder need not wait out the lease.
  if (lease_until_.load() != 0) meta_.unlock(intents_, kLeaseLock, cookie_);
}

Status RadosDataStore::TakeLease(const std::string& oid, uint8_t flags) {
  timeval duration{static_cast<time_t>(lease_.count()), 0};
  int r = meta_.lock_exclusive(oid, kLeaseLock, cookie_, "sluice gateway " + gateway_, &duration,
                               flags);
  if (r == -EBUSY || r == -EEXIST) return Status(Err::kAlreadyExists, "held by another gateway");
  return RadosStatus(r, "the lease on " + oid);
}

Status RadosDataStore::Start() {
  // The holder may be this name's previous process (gone within one lease) or another
  // gateway settling that process's log (a claim, held up to two leases more); past three
  // leases it is a running gateway under the same name.
  const int64_t start = clock_->MonotonicNanos();
  const int64_t give_up =
      start + std::chrono::nanoseconds(3 * lease_ + std::chrono::seconds(5)).count();
  bool told = false;
  for (;;) {
    const int64_t before = clock_->MonotonicNanos();
    Status s = TakeLease(intents_, LIBRADOS_LOCK_FLAG_MAY_RENEW);
    if (s.ok()) {
      lease_until_ = before + std::chrono::nanoseconds(lease_).count();
      break;
    }
    if (s.code() != Err::kAlreadyExists) return s;
    if (clock_->MonotonicNanos() > give_up)
      return Status(Err::kAlreadyExists,
                    "gateway name " + gateway_ +
                        " is in use: another running gateway holds the lease on " + intents_ +
                        "; give this one its own --gateway-name");
    if (!told)
      spdlog::info(
          "waiting for the lease on {} (a gateway of that name stopped less than {} s "
          "ago and its log is being settled, or it still runs)",
          intents_, 3 * lease_.count());
    told = true;
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(500), [&] { return stopping_; });
    if (stopping_) return Status(Err::kServiceUnavailable, "stopping", true);
  }
  // Listed, so that other gateways find the log if this one never comes back.
  std::map<std::string, librados::bufferlist> kv;
  kv[gateway_];
  librados::ObjectWriteOperation op;
  op.omap_set(kv);
  int r = meta_.operate(kGateways, &op);
  if (r < 0) return RadosStatus(r, "listing this gateway in " + std::string(kGateways));
  renewer_ = std::thread([this] { RenewLoop(); });
  return Status::Ok();
}

void RadosDataStore::RenewLoop() {
  std::unique_lock l(mu_);
  while (!cv_.wait_for(l, lease_ / 3, [&] { return stopping_; })) {
    l.unlock();
    (void)Renew();
    l.lock();
  }
}

Status RadosDataStore::Renew() {
  std::lock_guard l(renew_mu_);
  const int64_t before = clock_->MonotonicNanos();
  Status s = TakeLease(intents_, LIBRADOS_LOCK_FLAG_MUST_RENEW);
  if (!s.ok()) {
    // Lost (it lapsed and another gateway claimed the log) or unreachable: writes stop
    // until it is held again; a new lease is taken only once the log is free.
    spdlog::error("the lease on {} was not renewed: {}; new writes fail until it is", intents_,
                  s.ToString());
    s = TakeLease(intents_, 0);
    if (s.ok()) {
      std::map<std::string, librados::bufferlist> kv;
      kv[gateway_];
      librados::ObjectWriteOperation op;
      op.omap_set(kv);
      if (int r = meta_.operate(kGateways, &op); r < 0) s = RadosStatus(r, "listing this gateway");
    }
  }
  if (s.ok()) lease_until_ = before + std::chrono::nanoseconds(lease_).count();
  return s;
}

Status RadosDataStore::EnsureLease() {
  if (CheckLease().ok()) return Status::Ok();
  if (lease_until_.load() == 0) return CheckLease();  // never started, or stopped
  {
    std::unique_lock l(renew_mu_, std::try_to_lock);
    if (!l.owns_lock()) return CheckLease();  // another caller is renewing: do not pile up
  }
  (void)Renew();
  return CheckLease();
}

Status RadosDataStore::CheckLease() const {
  // A third of the lease must be left: enough for the write under way to reach its commit
  // before any other gateway could start to claim the log.
  const int64_t until = lease_until_.load() - std::chrono::nanoseconds(lease_ / 3).count();
  if (clock_->MonotonicNanos() < until) return Status::Ok();
  return Status(Err::kServiceUnavailable,
                "this gateway does not hold the lease on its intent log " + intents_, true);
}

Result<std::unique_ptr<DataWriter>> RadosDataStore::Create(uint64_t /*size_hint*/,
                                                           std::string_view owner) {
  SLUICE_RETURN_IF_ERROR(EnsureLease());
  std::string id = rnd_->HexString(16);
  // The intent first: no byte of `id` exists without it.
  std::map<std::string, librados::bufferlist> kv;
  kv[id].append(owner.data(), static_cast<unsigned>(owner.size()));
  librados::ObjectWriteOperation op;
  op.omap_set(kv);
  int r = meta_.operate(intents_, &op);
  if (r < 0) return RadosStatus(r, "recording the intent of " + id);
  return std::unique_ptr<DataWriter>(new RadosWriter(this, std::move(id)));
}

Result<std::unique_ptr<DataReader>> RadosDataStore::Open(const std::string& id) {
  SLUICE_ASSIGN_OR_RETURN(uint64_t size, ReadSize(data_, id));
  return std::unique_ptr<DataReader>(new RadosReader(&data_, id, size, pool_, &piece_reads_));
}

void RadosDataStore::ReadMany(std::vector<RangeRead>& reads) {
  struct Part {  // [at, at + len) of a range, from one stripe object
    RangeRead* read;
    uint64_t at;
    size_t len;
    librados::bufferlist bl;
    int rval = 0;
  };
  struct ObjectRead {
    std::vector<std::unique_ptr<Part>> parts;
    librados::ObjectReadOperation op;
    librados::AioCompletion* done = nullptr;
  };
  std::map<std::string, ObjectRead> objects;  // by stripe object name
  for (auto& r : reads) {
    r.status = Status::Ok();
    r.bytes.assign(r.length, '\0');
    for (uint64_t at = 0; at < r.length;) {
      const uint64_t offset = r.offset + at;
      const uint64_t in_stripe = offset % kStripe;
      auto p = std::make_unique<Part>();
      p->read = &r;
      p->at = at;
      p->len = static_cast<size_t>(std::min<uint64_t>(r.length - at, kStripe - in_stripe));
      ObjectRead& o = objects[StripeName(r.id, offset / kStripe)];
      o.op.read(in_stripe, p->len, &p->bl, &p->rval);
      at += p->len;
      o.parts.push_back(std::move(p));
    }
  }
  for (auto& [oid, o] : objects) {
    o.done = librados::Rados::aio_create_completion();
    if (int rv = data_.aio_operate(oid, o.done, &o.op, nullptr); rv < 0) {
      o.done->release();
      o.done = nullptr;
      for (auto& p : o.parts)
        if (p->read->status.ok()) p->read->status = RadosStatus(rv, "reading data " + p->read->id);
    }
  }
  for (auto& [oid, o] : objects) {  // every started operation is awaited, even after a failure
    if (!o.done) continue;
    o.done->wait_for_complete();
    const int rv = o.done->get_return_value();
    o.done->release();
    for (auto& p : o.parts) {
      RangeRead& r = *p->read;
      if (!r.status.ok()) continue;
      if (rv == -ENOENT)
        r.status = Status(Err::kNotFound, "data " + r.id + " does not exist");
      else if (rv < 0)
        r.status = RadosStatus(rv, "reading data " + r.id);
      else if (p->rval < 0)
        r.status = RadosStatus(p->rval, "reading data " + r.id);
      else if (p->bl.length() != p->len)
        r.status = Status(Err::kCorruption, "data " + r.id + " is shorter than the range read");
      else
        p->bl.begin().copy(p->len, r.bytes.data() + p->at);
    }
  }
  for (auto& r : reads)
    if (!r.status.ok()) r.bytes.clear();
}

void RadosDataStore::Published(const std::string& id) {
  librados::ObjectWriteOperation op;
  op.omap_rm_keys(std::set<std::string>{id});
  int r = meta_.operate(intents_, &op);
  if (r < 0)
    spdlog::warn("dropping the intent of {}: {} (recovery will retry)", id,
                 RadosStatus(r, "").ToString());
}

Status RadosDataStore::Delete(const std::string& id) {
  auto size = ReadSize(data_, id);
  if (!size.ok() && size.status().code() != Err::kNotFound) return size.status();
  // Committed: exactly its stripes. Not (a write cut short): stripes until two in a row
  // are missing, since up to kInFlight pieces, across at most two stripes, were in flight.
  const uint64_t known = size.ok() ? *size / kStripe + 1 : 0;
  int missing = 0;
  for (uint64_t n = 0; size.ok() ? n < known : missing < 2; n++) {
    int r = data_.remove(StripeName(id, n));
    if (r == -ENOENT) {
      missing++;
      continue;
    }
    missing = 0;
    if (r < 0) return RadosStatus(r, "deleting data " + id);
  }
  librados::ObjectWriteOperation op;
  op.omap_rm_keys(std::set<std::string>{id});
  int r = meta_.operate(intents_, &op);
  if (r < 0 && r != -ENOENT) return RadosStatus(r, "dropping the intent of " + id);
  return Status::Ok();
}

Result<std::vector<DataStore::Unpublished>> RadosDataStore::ListUnpublished() {
  return ListLog(intents_);
}

Result<std::vector<DataStore::Unpublished>> RadosDataStore::ListLog(const std::string& oid) {
  std::vector<Unpublished> out;
  std::string after;
  for (bool more = true; more;) {
    std::map<std::string, librados::bufferlist> page;
    int rv = 0;
    librados::ObjectReadOperation op;
    op.omap_get_vals2(after, 1000, &page, &more, &rv);
    int r = meta_.operate(oid, &op, nullptr);
    if (r == -ENOENT) break;  // no intent ever recorded
    if (r < 0) return RadosStatus(r, "listing intents");
    if (rv < 0) return RadosStatus(rv, "listing intents");
    for (auto& [id, owner] : page) out.push_back({id, owner.to_str()});
    if (!page.empty()) after = page.rbegin()->first;
    if (page.empty()) break;
  }
  return out;
}

// Every listed gateway but this one whose lease this gateway can take. A log is returned
// one lease duration after it was first claimed (the claim is renewed meanwhile): its owner,
// if merely stalled, has seen its own lease lapse and stopped writing by then.
Result<std::vector<DataStore::AbandonedLog>> RadosDataStore::ClaimAbandoned() {
  std::map<std::string, librados::bufferlist> listed;
  std::set<std::string> names;
  std::string after;
  for (bool more = true; more;) {
    librados::ObjectReadOperation op;
    int rv = 0;
    listed.clear();
    op.omap_get_vals2(after, 1000, &listed, &more, &rv);
    int r = meta_.operate(kGateways, &op, nullptr);
    if (r == -ENOENT) break;
    if (r < 0) return RadosStatus(r, "listing gateways");
    for (const auto& [name, v] : listed) names.insert(name);
    if (listed.empty()) break;
    after = listed.rbegin()->first;
  }
  std::vector<AbandonedLog> out;
  const int64_t now = clock_->MonotonicNanos();
  for (const auto& name : names) {
    if (name == gateway_) continue;
    Status s = TakeLease(kIntentsPrefix + name, LIBRADOS_LOCK_FLAG_MAY_RENEW);
    if (!s.ok()) {
      claimed_.erase(name);  // alive (or back)
      if (s.code() != Err::kAlreadyExists) return s;
      continue;
    }
    auto [it, first] = claimed_.emplace(name, now);
    if (first) {
      spdlog::info(
          "gateway {} holds no lease (stopped, or dead); what it left unfinished is settled in {} "
          "s "
          "unless it returns",
          name, lease_.count());
      continue;
    }
    if (now - it->second < std::chrono::nanoseconds(lease_).count()) continue;
    SLUICE_ASSIGN_OR_RETURN(auto ids, ListLog(kIntentsPrefix + name));
    out.push_back({name, std::move(ids)});
  }
  return out;
}

Status RadosDataStore::ForgetLog(const std::string& name) {
  // Unlisted first, then removed (which ends the claim): a gateway of that name starting
  // now takes the lease only once the log is gone, and lists itself again after that.
  librados::ObjectWriteOperation unlist;
  unlist.omap_rm_keys(std::set<std::string>{name});
  int r = meta_.operate(kGateways, &unlist);
  if (r < 0 && r != -ENOENT) return RadosStatus(r, "unlisting gateway " + name);
  r = meta_.remove(kIntentsPrefix + name);
  if (r < 0 && r != -ENOENT) return RadosStatus(r, "removing the intent log of " + name);
  claimed_.erase(name);
  spdlog::info("settled the unfinished writes of gateway {}", name);
  return Status::Ok();
}

}  // namespace sluice::storage
