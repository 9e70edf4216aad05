// The admin client of the echo_admin bench scenario (bench/admin_scenario.py): logs in
// to /admin, subscribes to the sioscope packet stream, counts what arrives. Node's
// socket.io-client, because a client that decodes ~1.5 MB/s of JSON must not itself
// take the CPU the servers under test need (python-socketio took several times more).
// Prints {"ready": true} once subscribed, then its counts when stdin closes (with
// "per-second", the records per tenth of a second of the server's clock:
// bench/diag_scale.py reads the load each server saw within its window).
"use strict";
const path = require("path");
const { createRequire } = require("module");
const interop = createRequire(path.join(__dirname, "..", "tests", "interop", "package.json"));
const { io } = interop("socket.io-client");

// argv: url, password, then "no" (no packet stream) or "diag" (packets + diagnostics),
// then optionally "per-second" (also count records per 100 ms of the server's clock).
const [url, password, subscribe, extra] = process.argv.slice(2);
const perSecond = extra === "per-second";
const counts = { batches: 0, records: 0, dropped: 0, seq_gaps: 0, last_seq: 0, diagnostics: 0,
  exchanges: 0 };
if (perSecond) counts.per_100ms = {};
const options = { packets: subscribe !== "no" };
if (subscribe === "diag") options.diagnostics = true;
const socket = io(url + "/admin", {
  auth: { username: "admin", password, sioscope: options },
  transports: ["websocket"],
  reconnection: false,
  forceNew: true,
});
socket.on("sioscope:snapshot", () => {
  clearTimeout(watchdog); // subscribed: the client lives until stdin closes
  process.stdout.write(JSON.stringify({ ready: true }) + "\n");
});
socket.on("sioscope:packets", (batch) => {
  counts.batches++;
  counts.records += batch.records.length;
  // Records per 100 ms of the server's clock (a record's ts_ms): what the server saw
  // within a window, whenever its batch arrived here.
  for (const record of perSecond ? batch.records : []) {
    const tenth = Math.floor(record[0] / 100);
    counts.per_100ms[tenth] = (counts.per_100ms[tenth] || 0) + 1;
  }
  counts.dropped += batch.dropped;
  if (batch.seq !== counts.last_seq + 1) counts.seq_gaps++;
  counts.last_seq = batch.seq;
});
socket.on("sioscope:diagnostics", (message) => {
  counts.diagnostics++;
  counts.exchanges += message.exchanges.length;
});
socket.on("connect_error", (err) => {
  process.stdout.write(JSON.stringify({ error: err.message }) + "\n");
  process.exit(1);
});
const watchdog = setTimeout(() => {
  process.stdout.write(JSON.stringify({ error: "not subscribed in time" }) + "\n");
  process.exit(1);
}, 15000);
watchdog.unref();
process.stdin.on("end", () => {
  socket.close();
  process.stdout.write(JSON.stringify(counts) + "\n");
  process.exit(0);
});
process.stdin.resume();
