// Response helpers shared by the operations.
#pragma once

#include <string>

#include "s3/context.h"
#include "s3/xml.h"

namespace sluice::s3 {

inline Task<Status> SendXml(Ctx& ctx, const XmlDoc& doc, int status = 200) {
  http::ResponseHead head;
  head.status = status;
  head.Set("Content-Type", "application/xml");
  co_return co_await ctx.resp.Send(head, doc.Render());
}

// With extra headers (x-amz-version-id ...).
inline Task<Status> SendXml(Ctx& ctx, const XmlDoc& doc, http::ResponseHead head) {
  head.Set("Content-Type", "application/xml");
  co_return co_await ctx.resp.Send(head, doc.Render());
}

// A document an XmlWriter wrote.
inline Task<Status> SendXml(Ctx& ctx, XmlWriter& doc) {
  http::ResponseHead head;
  head.status = 200;
  head.Set("Content-Type", "application/xml");
  co_return co_await ctx.resp.Send(head, doc.Finish());
}

inline Task<Status> SendEmpty(Ctx& ctx, int status, http::ResponseHead head = {}) {
  head.status = status;
  co_return co_await ctx.resp.Send(head, "");
}

inline void AddOwner(XmlNode parent, const Ctx& ctx, const char* name = "Owner") {
  XmlNode o = parent.Child(name);
  o.Add("ID", ctx.auth.credential.owner_id);
  o.Add("DisplayName", ctx.auth.credential.display_name);
}

inline void AddOwner(XmlWriter& w, const Ctx& ctx, const char* name = "Owner") {
  w.Open(name)
      .Add("ID", ctx.auth.credential.owner_id)
      .Add("DisplayName", ctx.auth.credential.display_name)
      .Close(name);
}

}  // namespace sluice::s3
