// The load generator of bench/cluster_redis.py: N WebSocket clients on each of two
// servers of one Redis cluster (Socket.IO v5 spoken by hand over `ws`, as loadgen.js
// does, so the generator stays light), and broadcasts to room "all" asked of server A.
//
// Usage: node cluster_loadgen.js '<json config>'
//   {urls: [A, B], clients (per server), broadcasts, window (in flight), rate (> 0: paced
//    at that many broadcasts per second instead of a window), payloadBytes, timeoutS}
// Protocol with the driver: after connecting and a closed-loop warm-up it prints
// {"ready": true}; on a stdin line "go" it runs the measured phase (at most `window`
// broadcasts in flight, each complete once every client of both servers got it) and
// prints the result; then it makes `fetches` fetch_sockets round trips through server A,
// one at a time (its "fetch" event answers the number of sockets of the cluster), and
// prints their latency; stdin closing exits.
"use strict";
const path = require("path");
const { performance } = require("perf_hooks");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "tests", "interop", "package.json"));
const WebSocket = interop("ws");

const cfg = Object.assign(
  { urls: [], clients: 10, broadcasts: 20, window: 8, rate: 0, payloadBytes: 100, fetches: 20, timeoutS: 120 },
  JSON.parse(process.argv[2] || "{}"),
);
const PAD = "x".repeat(cfg.payloadBytes);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
setTimeout(() => { out({ error: `watchdog: ${cfg.timeoutS}s` }); process.exit(3); }, cfg.timeoutS * 1000).unref();

let onBroadcast = () => {};
const acks = new Map(); // ack id -> resolve, for the sender's fetch requests

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket");
    const timer = setTimeout(() => reject(new Error("connect timeout")), 10000);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === "2") return ws.send("3");
      if (text[0] === "0") return ws.send("40");
      if (text.startsWith("40")) { clearTimeout(timer); return resolve(ws); }
      if (text.startsWith("43")) {
        const m = /^43(\d+)\[(.*)\]$/.exec(text);
        const resolve = m && acks.get(Number(m[1]));
        if (resolve) { acks.delete(Number(m[1])); resolve(JSON.parse(`[${m[2]}]`)[0]); }
        return;
      }
      if (text.startsWith('42["broadcast"')) {
        const m = /seq\\":(\d+)/.exec(text);
        if (m) onBroadcast(Number(m[1]));
      }
    });
    ws.on("error", reject);
  });
}

async function connectMany(url, n) {
  const clients = [];
  let next = 0;
  const worker = async () => { while (next++ < n) clients.push(await connect(url)); };
  await Promise.all(Array.from({ length: Math.min(50, n) }, worker));
  return clients;
}

async function main() {
  const groups = [];
  for (const url of cfg.urls) groups.push(await connectMany(url, cfg.clients));
  const total = groups.reduce((n, g) => n + g.length, 0);
  const sender = groups[0][0];
  let seq = 0;
  const got = new Map();
  const sentAt = new Map();
  const lat = [];
  let deliveries = 0;
  let waiters = new Map();
  onBroadcast = (s) => {
    const t = sentAt.get(s);
    if (t === undefined) return;
    deliveries++;
    lat.push(performance.now() - t);
    const n = (got.get(s) || 0) + 1;
    got.set(s, n);
    if (n === total) { const w = waiters.get(s); waiters.delete(s); if (w) w(); }
  };
  const send = () => new Promise((resolve) => {
    const s = seq++;
    sentAt.set(s, performance.now());
    waiters.set(s, resolve);
    sender.send(`42["broadcast","{\\"seq\\":${s},\\"text\\":\\"${PAD}\\"}"]`);
  });
  // warm-up, closed loop: retried until one broadcast reaches every client (subscribed)
  for (let ok = 0, tries = 0; ok < 5 && tries < 100; tries++) {
    const done = await Promise.race([send().then(() => true), sleep(200).then(() => false)]);
    if (done) ok++;
  }
  deliveries = 0; lat.length = 0; sentAt.clear(); got.clear(); waiters.clear();
  out({ ready: true, clients: total });
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let inFlight = 0;
  let sent = 0;
  if (cfg.rate > 0) {
    // paced: one broadcast every 1/rate s whatever the server does, then wait for all
    const pending = [];
    for (let i = 0; i < cfg.broadcasts; i++) {
      const due = t0 + (i * 1000) / cfg.rate - performance.now();
      if (due > 0) await sleep(due);
      pending.push(send());
    }
    await Promise.race([Promise.all(pending), sleep(cfg.timeoutS * 500)]);
  } else await new Promise((resolve) => {
    const pump = () => {
      while (inFlight < cfg.window && sent < cfg.broadcasts) {
        inFlight++; sent++;
        send().then(() => { inFlight--; if (sent === cfg.broadcasts && inFlight === 0) resolve(); else pump(); });
      }
    };
    pump();
    setTimeout(resolve, cfg.timeoutS * 500).unref();
  });
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : null);
  out({
    clients: total,
    broadcasts: cfg.broadcasts,
    deliveries,
    expected: cfg.broadcasts * total,
    wall_s: wall,
    deliveries_per_s: deliveries / wall,
    latency_p50_ms: pct(0.5),
    latency_p99_ms: pct(0.99),
    loadgen_cpu_s: (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6,
  });
  // fetch_sockets across both servers, asked through server A, one at a time
  const fetchLat = [];
  let fetched = null;
  for (let i = 0; i < cfg.fetches; i++) {
    const t = performance.now();
    fetched = await new Promise((resolve) => { acks.set(i, resolve); sender.send(`42${i}["fetch"]`); });
    fetchLat.push(performance.now() - t);
  }
  fetchLat.sort((a, b) => a - b);
  out({
    fetches: cfg.fetches,
    fetched_sockets: fetched,
    fetch_p50_ms: fetchLat.length ? fetchLat[Math.floor(fetchLat.length / 2)] : null,
    fetch_max_ms: fetchLat.length ? fetchLat[fetchLat.length - 1] : null,
  });
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
}

main().catch((err) => { out({ error: String(err.message || err) }); process.exit(1); });
