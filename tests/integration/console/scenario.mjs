// The web console end to end in Debian's chromium, driven by playwright-core (never a
// downloaded browser). test_console.py prepares the server and its data, runs this with a
// JSON config as argv[2], then checks on the server what the browser did. Prints one line
// per case ("ok NAME" / "FAIL NAME: why") and "N passed, M failed"; writes the results as
// JSON to config.results for the Python side.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cfg = JSON.parse(process.argv[2]);
const base = `${cfg.endpoint}/_sluice/console/`;
const out = {};
let passed = 0;
let failed = 0;

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
    passed++;
  } catch (e) {
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e}`);
    failed++;
    try {
      console.log(`  at ${page.url()}; the page says: ${(await page.locator("body").innerText()).replace(/\s+/g, " ").slice(0, 600)}`);
    } catch { /* no page */ }
  }
}

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

const profile = mkdtempSync(join(tmpdir(), "sluice-console-chromium-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const shot = async (name, opts = {}) => {
  if (cfg.screenshots) await page.screenshot({ path: join(cfg.screenshots, `${name}.png`), ...opts });
};
const go = async (hash) => {
  await page.goto(base + hash);
  await page.waitForLoadState("networkidle");
};
const signIn = async (ak, sk) => {
  await page.getByLabel("Access key").fill(ak);
  await page.getByLabel("Secret key").fill(sk);
  await page.getByRole("button", { name: "Sign in" }).click();
};
const noHorizontalScroll = async (what) => {
  const [sw, w] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  expect(sw <= w + 1, `${what}: the page is ${sw} px wide in a ${w} px window`);
};

try {
  await step("wrong secret is refused with the server's reason", async () => {
    await go("");
    await signIn(cfg.root.ak, cfg.root.sk + "-wrong");
    const err = page.locator(".signin .error");
    await err.waitFor();
    expect((await err.textContent()).includes("SignatureDoesNotMatch"), `got: ${await err.textContent()}`);
    expect(await page.getByRole("button", { name: "Sign in" }).isVisible(), "left the sign-in page");
    expect((await page.evaluate(() => sessionStorage.length)) === 0, "kept a refused credential");
    await shot("sign-in");
  });

  await step("sign in; buckets with counts and sizes", async () => {
    await signIn(cfg.root.ak, cfg.root.sk);
    await page.locator("table.buckets").waitFor();
    const row = page.locator("table.buckets tr", { hasText: cfg.big });
    await page.waitForFunction((b) => {
      const tr = [...document.querySelectorAll("table.buckets tr")].find((r) => r.textContent.includes(b));
      return tr && tr.children[1].textContent === "10,000";
    }, cfg.big);
    expect((await row.textContent()).includes("10,000"), "no object count");
    // The secret lives in this tab's sessionStorage only: no cookie.
    expect((await ctx.cookies()).length === 0, "a cookie was set");
    expect((await page.evaluate(() => Object.keys(sessionStorage))).length === 1, "sessionStorage");
    await shot("buckets");
  });

  await step("create and delete a bucket, with confirmation", async () => {
    await page.locator("#new-bucket").fill("console-made");
    await page.getByLabel("Versioning").check();
    await page.getByRole("button", { name: "Create bucket" }).click();
    const row = page.locator("table.buckets tr", { hasText: "console-made" });
    await row.waitFor();
    const del = row.getByRole("button", { name: "Delete" });
    await page.waitForFunction((b) => {
      const tr = [...document.querySelectorAll("table.buckets tr")].find((r) => r.textContent.includes(b));
      return tr && !tr.querySelector("button.danger").disabled;
    }, "console-made");
    await del.click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Cancel" }).click();
    expect(await row.isVisible(), "cancel deleted it");
    await del.click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
    await row.waitFor({ state: "detached" });
  });

  await step("browse a bucket of 10,000 keys: pages, search, bookmarkable URL", async () => {
    await go(`#/b/${cfg.big}`);
    const rows = page.locator("table.objects tbody tr");
    await rows.first().waitFor();
    expect((await rows.count()) === 200, `first page has ${await rows.count()} rows`);
    expect((await rows.first().textContent()).includes("k00000"), "first page does not start at k00000");
    await page.getByRole("button", { name: "Next page" }).click();
    await page.waitForFunction(() => document.querySelector(".page-no")?.textContent === "Page 2");
    expect((await rows.first().textContent()).includes("k00200"), `page 2 starts at ${await rows.first().textContent()}`);
    await page.getByRole("button", { name: "Previous page" }).click();
    await page.waitForFunction(() => document.querySelector(".page-no")?.textContent === "Page 1");
    await page.locator("#search").fill("k0987");
    await page.locator("#search").press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("table.objects tbody tr").length === 10);
    expect(page.url().includes("q=k0987"), `the search is not in the URL: ${page.url()}`);
    // The URL is a bookmark: a fresh load shows the same page.
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll("table.objects tbody tr").length === 10);
    await go(`#/b/${cfg.data}`);
    await page.locator("tr.folder", { hasText: "images/" }).getByRole("link").click();
    await page.locator("nav.crumbs", { hasText: "images" }).waitFor();
    expect(page.url().includes("prefix=images%2F"), page.url());
    await go(`#/b/${cfg.data}`);
    await rows.first().waitFor();
    await shot("browse");
  });

  await step("upload 100 MiB with progress", async () => {
    await go(`#/b/${cfg.data}?prefix=uploads%2F`);
    const values = new Set();
    const watcher = setInterval(async () => {
      try {
        const v = await page.evaluate(() => {
          const p = document.querySelector(".upload progress");
          return p ? [p.value, p.max] : null;
        });
        if (v) values.add(v[0] / v[1]);
      } catch { /* navigation */ }
    }, 20);
    await page.locator("#upload-files").setInputFiles(cfg.bigFile);
    await page.locator(".upload.done, .upload.failed").waitFor({ timeout: 120000 });
    clearInterval(watcher);
    expect(await page.locator(".upload.done").isVisible(), await page.locator(".upload").textContent());
    const between = [...values].filter((f) => f > 0 && f < 1);
    out.progressSamples = [...values].sort();
    expect(between.length >= 1, `no progress between 0 and 100%: ${[...values]}`);
    await page.locator("table.objects tbody tr", { hasText: "big.bin" }).waitFor();
    out.uploadedKey = "uploads/big.bin";
  });

  await step("cancel an upload: nothing is left behind", async () => {
    await go(`#/b/${cfg.data}?prefix=cancelled%2F`);
    await page.locator("#upload-files").setInputFiles(cfg.bigFile);
    await page.waitForFunction(() => {
      const p = document.querySelector(".upload progress");
      return p && p.value > 0;
    }, null, { timeout: 60000 });
    await page.locator(".upload").getByRole("button", { name: "Cancel" }).click();
    await page.locator(".upload.failed", { hasText: "Upload cancelled" }).waitFor({ timeout: 30000 });
  });

  await step("download, byte for byte", async () => {
    await go(`#/o/${cfg.data}?key=uploads%2Fbig.bin`);
    const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 60000 }),
                                    page.getByRole("button", { name: "Download" }).first().click()]);
    const path = join(cfg.work, "downloaded.bin");
    await dl.saveAs(path);
    out.downloaded = path;
  });

  await step("object details, preview and share link", async () => {
    await go(`#/o/${cfg.data}?key=meta%2Fconfig.json`);
    await page.locator("pre.preview-text").waitFor();
    expect((await page.locator("pre.preview-text").textContent()).includes('"learning_rate": 0.001'), "JSON preview");
    const details = await page.locator("table.details").textContent();
    for (const want of ["application/json", "Metadata owner", "team-a", "Checksum CRC32", "Legal hold"])
      expect(details.includes(want), `details lack ${want}`);
    await page.waitForFunction(() => [...document.querySelectorAll("table.details tr")].some((r) => r.textContent.includes("stage=train")));
    await page.locator("#share-expiry").selectOption("900");
    await page.getByRole("button", { name: "Create share link" }).click();
    await page.waitForFunction(() => document.querySelector("#share-url").value.includes("X-Amz-Expires=900"));
    out.shareUrl = await page.locator("#share-url").inputValue();
    await shot("object");
    await go(`#/o/${cfg.data}?key=shards%2Fshard-000.tar`);
    await page.locator("table.members tbody tr").first().waitFor();
    expect((await page.locator("table.members tbody tr").count()) === 3, "tar members");
    await go(`#/o/${cfg.data}?key=images%2Fpixel.png`);
    await page.waitForFunction(() => {
      const i = document.querySelector("img.preview-image");
      return i && i.complete && i.naturalWidth === 1;
    });
  });

  await step("restore an older version as the latest", async () => {
    await go(`#/o/${cfg.versioned}?key=model.txt`);
    await page.locator("table.versions tbody tr").nth(1).waitFor();
    expect((await page.locator("pre.preview-text").textContent()).includes("second"), "latest is not v2");
    await shot("versions");
    await page.locator("table.versions tbody tr").nth(1).getByRole("button", { name: "Restore" }).click();
    await page.waitForFunction(() => document.querySelectorAll("table.versions tbody tr").length === 3);
    await page.waitForFunction(() => document.querySelector("pre.preview-text")?.textContent.includes("first"));
  });

  await step("bucket settings: a malformed policy shows the server's reason", async () => {
    await go(`#/s/${cfg.versioned}`);
    await page.locator("#editor-policy").waitFor();
    expect((await page.locator("#versioning-status").textContent()) === "Enabled", "versioning status");
    await page.locator("#editor-policy").fill('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}');
    await page.locator("#config-policy").getByRole("button", { name: "Save" }).click();
    const err = page.locator("#config-policy .error");
    await err.waitFor();
    const text = await err.textContent();
    expect(text.includes("MalformedPolicy"), `got: ${text}`);
    out.malformed = text;
    await page.locator("#editor-lifecycle").waitFor();
    await page.locator("#config-lifecycle").getByRole("button", { name: "Save" }).click();
    await page.locator("#config-lifecycle .ok").waitFor();
    await shot("settings");
  });

  await step("administration: a user and a key, the secret shown once", async () => {
    await go("#/admin/users");
    await page.locator("#new-user").fill("analyst");
    await page.getByRole("button", { name: "Create user" }).click();
    const user = page.locator('section.user[data-user="analyst"]');
    await user.waitFor();
    await user.getByRole("button", { name: "Create key" }).click();
    await page.locator(".new-secret-key").waitFor();
    out.user = { ak: await page.locator(".new-access-key").textContent(), sk: await page.locator(".new-secret-key").textContent() };
    await shot("admin");
    await go("#/admin/policies");
    await page.locator("#policy-name").fill("datasets-read");
    await page.getByRole("button", { name: "Save policy" }).click();
    await page.locator("table.policies", { hasText: "datasets-read" }).waitFor();
  });

  await step("dashboard charts the server's metrics", async () => {
    await go("#/dashboard");
    await page.locator("figure.chart").nth(3).waitFor();
    await page.waitForFunction(() => document.querySelector(".capacity")?.textContent.includes("free of"));
    await page.waitForFunction(() => document.querySelectorAll("polyline.series").length === 7, null, { timeout: 15000 });
    await shot("dashboard");
  });

  await step("phone-sized screens", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const hash of ["", `#/b/${cfg.data}`, `#/o/${cfg.data}?key=meta%2Fconfig.json`, `#/s/${cfg.versioned}`, "#/admin/users", "#/dashboard"]) {
      await go(hash);
      await page.locator("main h1").waitFor();
      await noHorizontalScroll(hash || "buckets");
    }
    await go(`#/b/${cfg.data}`);
    await page.locator("table.objects").waitFor();
    await shot("phone-browse");
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step("sign out clears the secret", async () => {
    await go("");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect((await page.evaluate(() => sessionStorage.length)) === 0, "sessionStorage still holds something");
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
  });

  await step("a user without rights sees AccessDenied, never a blank page; no admin pages", async () => {
    expect(out.user, "no user key from the admin step");
    await signIn(out.user.ak, out.user.sk);
    await page.locator("header.top").waitFor();
    expect(!(await page.getByRole("link", { name: "Administration" }).isVisible()), "a non-admin sees Administration");
    // ListBuckets answers a user with the buckets it may see: none yet.
    await page.locator("main", { hasText: "No buckets yet." }).waitFor();
    await go("#/admin/users");
    await page.locator("main .error").waitFor();
    expect((await page.locator("main .error").textContent()).includes("AccessDenied"), "admin page");
    await go(`#/b/${cfg.data}`);
    await page.locator("main .error").waitFor();
    expect((await page.locator("main .error").textContent()).includes("AccessDenied"), "browse");
    await go("#/dashboard");
    await page.locator("main .error").waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
  });

  await step("no script errors in the page", async () => {
    expect(consoleErrors.length === 0, consoleErrors.join("; "));
  });
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
writeFileSync(cfg.results, JSON.stringify(out));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
