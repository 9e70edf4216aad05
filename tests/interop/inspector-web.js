// `sioscope ... --web` in headless Chromium, driven with playwright-core: the page
// textual-serve serves opens, the inspector's screen arrives and is drawn by the page's
// own terminal (xterm.js), and a key typed into the page reaches the app.
//
// The page draws on a canvas, so the screen is read where the page reads it: the bytes
// of its WebSocket (the app's terminal output), with escape sequences taken out.
//
// usage: node inspector-web.js '<json config>'
//   {url, chromium, profileDir, expect: [text...], key?, after?: [text...],
//    settle?: ms to wait before the screenshot, screenshot?: PNG path}
// Prints one JSON line per step ({"step": ...}) and finally {"ok": true} or {"error": ...}.
"use strict";
const { chromium } = require("playwright-core");

const cfg = JSON.parse(process.argv[2]);
const STEP_MS = 40000; // generous: the suite runs on a loaded 2-core machine
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
// CSI and OSC sequences, then any other ESC + one character.
const ESCAPES = /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-_]/g;

async function main() {
  const context = await chromium.launchPersistentContext(cfg.profileDir, {
    executablePath: cfg.chromium,
    headless: true,
    viewport: { width: 1200, height: 720 },
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
    // No network but loopback: the page's web font (Google Fonts) is cut off at once.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
    page.on("pageerror", (err) => out({ pageerror: String(err) }));

    let screen = ""; // everything the app wrote, as text
    let sinceKey = null; // what it wrote after the key, once the key is sent
    page.on("websocket", (ws) => {
      ws.on("framereceived", (frame) => {
        if (typeof frame.payload === "string") return; // JSON control messages
        const text = frame.payload.toString("utf8").replace(ESCAPES, "");
        screen += text;
        if (sinceKey !== null) sinceKey += text;
      });
    });
    const waitFor = async (get, texts, what) => {
      const deadline = Date.now() + STEP_MS;
      for (;;) {
        const missing = texts.filter((t) => !get().includes(t));
        if (!missing.length) return;
        if (Date.now() > deadline) {
          throw new Error(`${what}: never saw ${JSON.stringify(missing)}; last: ${JSON.stringify(get().slice(-600))}`);
        }
        await page.waitForTimeout(100);
      }
    };

    await page.goto(cfg.url);
    await waitFor(() => screen, cfg.expect, "the app's first screen");
    // The page marks itself once real output arrived and the terminal is shown.
    await page.waitForSelector("body.-first-byte .xterm-screen");
    out({ step: "the app rendered in the page", saw: cfg.expect });

    if (cfg.key) {
      await page.click(".xterm-screen"); // focus the terminal, as a user would
      sinceKey = "";
      await page.keyboard.press(cfg.key);
      await waitFor(() => sinceKey, cfg.after, `after pressing ${cfg.key}`);
      out({ step: "a key typed in the page reached the app", key: cfg.key, saw: cfg.after });
    }

    if (cfg.screenshot) {
      await page.waitForTimeout(cfg.settle || 500);
      await page.screenshot({ path: cfg.screenshot });
      out({ step: "screenshot", path: cfg.screenshot });
    }
    out({ ok: true });
  } finally {
    await context.close();
  }
}

main().catch((err) => {
  out({ error: String((err && err.stack) || err) });
  process.exit(1);
});
