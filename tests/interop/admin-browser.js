// The official Socket.IO Admin UI (ui/dist of @socket.io/admin-ui 0.5.1, unmodified)
// in headless Chromium, driven with playwright-core: it logs in to a server, lists its
// sockets, rooms and clients, and clicks "disconnect" on one socket.
//
// usage: node admin-browser.js '<json config>'
//   {uiUrl, serverUrl, username, password, chromium, profileDir,
//    sid?, room?, clientId?,   // what the UI must list (when the caller owns the user socket)
//    ownUser?}                 // or: connect a socket.io-client user here (proves the harness on Node)
// Prints one JSON line per step ({"step": ...}) and finally {"ok": true} or {"error": ...}.
"use strict";
const { chromium } = require("playwright-core");

const cfg = JSON.parse(process.argv[2]);
const STEP_MS = 15000;
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

async function main() {
  let user = null;
  let userGone = null;
  if (cfg.ownUser) {
    const { io } = require("socket.io-client");
    user = io(cfg.serverUrl + "/", { forceNew: true, reconnection: false });
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("user connect timeout")), STEP_MS);
      user.once("connect", () => {
        clearTimeout(t);
        resolve();
      });
    });
    user.emit("join", "ui-room");
    cfg.sid = user.id;
    cfg.room = "ui-room";
    userGone = new Promise((resolve) => user.once("disconnect", resolve));
  }

  const context = await chromium.launchPersistentContext(cfg.profileDir, {
    executablePath: cfg.chromium,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(STEP_MS);
    // No network but loopback: the bundle's web fonts (Google, jsDelivr) are cut off
    // at once instead of stalling the page on a DNS timeout.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    page.on("pageerror", (err) => out({ pageerror: String(err) }));

    await page.goto(cfg.uiUrl);
    const dialog = page.locator(".v-dialog--active");
    const inputs = dialog.locator("input");
    await inputs.nth(0).fill(cfg.serverUrl);
    await inputs.nth(1).fill(cfg.username);
    await dialog.locator("input[type=password]").fill("not-the-password");
    await dialog.locator("button[type=submit]").click();
    await dialog.getByText("Invalid credentials").waitFor();
    out({ step: "wrong password refused with the UI's own message" });

    await dialog.locator("input[type=password]").fill(cfg.password);
    await dialog.locator("button[type=submit]").click();
    await page.locator(".v-dialog--active").waitFor({ state: "detached" });
    out({ step: "logged in" });

    await page.goto(cfg.uiUrl + "#/sockets/");
    const row = page.locator(".v-data-table tbody tr", { hasText: cfg.sid }).first();
    await row.waitFor();
    out({ step: "sockets list shows the socket", sid: cfg.sid });

    await page.goto(cfg.uiUrl + "#/rooms/");
    await page.locator("td", { hasText: cfg.room }).first().waitFor();
    out({ step: "rooms list shows the room", room: cfg.room });

    await page.goto(cfg.uiUrl + "#/clients/");
    const clientRow = page.locator("tbody tr").first();
    await clientRow.waitFor();
    const clientId = (await clientRow.locator("td").first().innerText()).trim();
    if (cfg.clientId && clientId !== cfg.clientId) {
      throw new Error(`clients list shows ${clientId}, expected ${cfg.clientId}`);
    }
    out({ step: "clients list shows the client", clientId });

    await page.goto(cfg.uiUrl + "#/sockets/");
    await row.waitFor();
    // The click also bubbles to the row, which opens the socket's page: come back.
    await row.locator("button").click();
    await page.goto(cfg.uiUrl + "#/sockets/");
    await row.waitFor({ state: "detached" });
    out({ step: "disconnect clicked; the row is gone" });
    if (userGone) {
      const reason = await Promise.race([
        userGone,
        new Promise((_, reject) => setTimeout(() => reject(new Error("user not disconnected")), STEP_MS)),
      ]);
      out({ step: "user socket disconnected", reason });
    }
    out({ ok: true });
  } finally {
    await context.close();
    if (user) user.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    out({ error: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  },
);
