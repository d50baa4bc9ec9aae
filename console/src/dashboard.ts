// The dashboard: the server's own /metrics (Prometheus's text format, fetched with a signed
// request: a user allowed sluice:GetMetrics), scraped every few seconds, charted as rates
// between scrapes: requests, errors, latency percentiles (from the full-duration
// histograms), bytes in and out; and capacity used and free.
import type { Ctx } from "./main";
import { append, bytes, clear, count, errorBox, h } from "./ui";

const EVERY_MS = 5000;
const POINTS = 60;
const SVG = "http://www.w3.org/2000/svg";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

function sum(s: Sample[], name: string, pred: (l: Record<string, string>) => boolean = () => true): number {
  return s.filter((x) => x.name === name && pred(x.labels)).reduce((n, x) => n + x.value, 0);
}

// Cumulative latency buckets over every operation: upper bound -> count.
function latencyBuckets(s: Sample[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const x of s) {
    if (x.name !== "sluice_request_duration_seconds_bucket") continue;
    const le = x.labels.le === "+Inf" ? Infinity : Number(x.labels.le);
    m.set(le, (m.get(le) ?? 0) + x.value);
  }
  return m;
}

// The q-quantile of a cumulative histogram, interpolated within its bucket, as Prometheus's
// histogram_quantile does.
function quantile(q: number, buckets: Map<number, number>): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = buckets.get(b)!;
    if (c >= rank) {
      if (b === Infinity) return prevBound;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / Math.max(1e-12, c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}

function chart(title: string, series: { name: string; points: number[] }[], fmt: (v: number) => string): HTMLElement {
  const w = 360;
  const ht = 120;
  const max = Math.max(1e-9, ...series.flatMap((s) => s.points.filter(Number.isFinite)));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${ht}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  series.forEach((s, i) => {
    const pts = s.points.map((v, j) => `${(j / (POINTS - 1)) * w},${ht - 4 - ((Number.isFinite(v) ? v : 0) / max) * (ht - 8)}`).join(" ");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", pts);
    line.setAttribute("class", `series s${i}`);
    svg.appendChild(line);
  });
  const last = series.map((s, i) => h("span", { class: `legend s${i}` }, `${s.name}: ${fmt(s.points[s.points.length - 1] ?? NaN)}`));
  return h("figure", { class: "chart" }, h("figcaption", {}, title, h("span", { class: "max" }, `max ${fmt(max)}`)), svg, h("div", { class: "legends" }, ...last));
}

export async function renderDashboard(c: Ctx, page: HTMLElement, live: () => boolean): Promise<void> {
  clear(page, h("h1", {}, "Dashboard"), h("p", { class: "muted" }, `From the server's /metrics, every ${EVERY_MS / 1000} s.`));
  const grid = h("div", { class: "charts" });
  const cap = h("div", { class: "capacity" });
  append(page, cap, grid);
  const hist: Record<string, number[]> = {};
  const push = (k: string, v: number) => {
    (hist[k] ??= new Array(POINTS).fill(NaN)).push(v);
    if (hist[k].length > POINTS) hist[k].shift();
  };
  let prev: { t: number; s: Sample[] } | null = null;
  const tick = async () => {
    let s: Sample[];
    try {
      s = parseMetrics(await c.api.metrics());
    } catch (e) {
      clear(grid, errorBox(e));
      return;
    }
    const t = performance.now() / 1000;
    if (prev) {
      const dt = Math.max(0.001, t - prev.t);
      const p = prev.s;
      const rate = (name: string, pred?: (l: Record<string, string>) => boolean) => Math.max(0, (sum(s, name, pred) - sum(p, name, pred)) / dt);
      push("req", rate("sluice_requests_total"));
      push("err", rate("sluice_requests_total", (l) => Number(l.status) >= 400 || l.status === "other"));
      const now = latencyBuckets(s);
      const before = latencyBuckets(p);
      const delta = new Map([...now].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
      push("p50", quantile(0.5, delta) * 1000);
      push("p90", quantile(0.9, delta) * 1000);
      push("p99", quantile(0.99, delta) * 1000);
      push("in", rate("sluice_received_bytes_total"));
      push("out", rate("sluice_sent_bytes_total"));
    }
    prev = { t, s };
    const capOf = (kind: string) => sum(s, "sluice_capacity_bytes", (l) => l.kind === kind);
    const total = capOf("total");
    const used = capOf("used");
    clear(
      cap,
      h("h2", {}, "Capacity"),
      total > 0
        ? h("div", {}, h("progress", { max: total, value: used, "aria-label": "Capacity used" }), h("p", {}, `${bytes(used)} used, ${bytes(capOf("free"))} free of ${bytes(total)}`))
        : h("p", { class: "muted" }, "Not reported."),
      h("p", { class: "muted" }, `${count(sum(s, "sluice_requests_in_flight"))} requests in flight, ${count(sum(s, "sluice_connections_open"))} connections open`),
    );
    const rate = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)}/s` : "–");
    const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)} ms` : "–");
    const bps = (v: number) => (Number.isFinite(v) ? `${bytes(v)}/s` : "–");
    const get = (k: string) => hist[k] ?? new Array(POINTS).fill(NaN);
    clear(
      grid,
      chart("Requests", [{ name: "requests", points: get("req") }], rate),
      chart("Errors", [{ name: "4xx and 5xx", points: get("err") }], rate),
      chart("Latency", [
        { name: "p50", points: get("p50") },
        { name: "p90", points: get("p90") },
        { name: "p99", points: get("p99") },
      ], ms),
      chart("Bytes", [
        { name: "in", points: get("in") },
        { name: "out", points: get("out") },
      ], bps),
    );
  };
  await tick();
  const timer = setInterval(() => {
    if (!live() || !document.getElementById("page")?.contains(grid)) clearInterval(timer);
    else void tick();
  }, EVERY_MS);
}
