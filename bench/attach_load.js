// A light crowd of Socket.IO sockets for the attach benchmark (bench/inspector_attach.py):
// Engine.IO v4 + Socket.IO v5 spoken by hand over `ws`, nothing else per connection (no
// socket.io-client object, no timers of its own: the server's pings are answered inline),
// so one Node process holds tens of thousands of sockets on a 2-core machine.
//
// Each websocket connection opens one Socket.IO socket in every namespace of the config,
// so `connections * namespaces.length` sockets need only `connections` file descriptors
// (a process here may hold 20,000 at most, the server as well): 100,000 sockets are
// 10,000 connections times 10 namespaces.
//
// Usage: node attach_load.js '<json config>'
// Output: {"ready": sockets, "connections": n, "connect_s": t} on stdout once every socket
// got its CONNECT ack, then it sends `pps` events a second (spread over the sockets) until
// stdin closes or the watchdog (`timeoutS`) fires. Progress and errors on stderr.
"use strict";
const path = require("path");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "tests", "interop", "package.json"));
const WebSocket = interop("ws");

const cfg = Object.assign(
  {
    host: "127.0.0.1",
    port: 0,
    path: "/socket.io/",
    connections: 100,
    namespaces: ["/"],
    concurrency: 200, // handshakes in flight at once
    pps: 0, // events a second, once ready
    timeoutS: 300,
  },
  JSON.parse(process.argv[2] || "{}"),
);

const log = (...a) => process.stderr.write(`[attach_load] ${a.join(" ")}\n`);
const watchdog = setTimeout(() => {
  log(`watchdog: ${cfg.timeoutS}s elapsed, exiting`);
  process.exit(3);
}, cfg.timeoutS * 1000);
watchdog.unref();

const url = `ws://${cfg.host}:${cfg.port}${cfg.path}?EIO=4&transport=websocket`;
const connectFrames = cfg.namespaces.map((nsp) => (nsp === "/" ? "40" : `40${nsp},`));
const target = cfg.connections * cfg.namespaces.length;
const open = [];
let acked = 0;
let failed = 0;
const started = Date.now();

function connectOne() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let done = false;
    const finish = (ok) => {
      if (!done) {
        done = true;
        if (!ok) failed += 1;
        resolve();
      }
    };
    let mine = 0;
    ws.on("message", (data) => {
      const s = data.toString();
      if (s === "2") {
        ws.send("3");
      } else if (s[0] === "0") {
        for (const f of connectFrames) ws.send(f);
      } else if (s.startsWith("40")) {
        acked += 1;
        mine += 1;
        if (mine === connectFrames.length) {
          open.push(ws);
          finish(true);
        }
      } else if (s.startsWith("44")) {
        log(`connect refused: ${s}`);
        finish(false);
      }
    });
    ws.on("error", (err) => {
      log(`error: ${err.message}`);
      finish(false);
    });
    ws.on("close", () => finish(false));
  });
}

async function main() {
  let next = 0;
  const worker = async () => {
    while (next < cfg.connections) {
      next += 1;
      await connectOne();
    }
  };
  const workers = [];
  for (let i = 0; i < Math.min(cfg.concurrency, cfg.connections); i++) workers.push(worker());
  await Promise.all(workers);
  if (failed > 0) log(`${failed} connections failed`);
  process.stdout.write(
    JSON.stringify({
      ready: acked,
      target,
      connections: open.length,
      connect_s: (Date.now() - started) / 1000,
    }) + "\n",
  );
  if (cfg.pps > 0 && open.length > 0) {
    // 10 ticks a second; each sends pps/10 events on sockets picked round-robin.
    const perTick = Math.max(1, Math.round(cfg.pps / 10));
    let i = 0;
    setInterval(() => {
      for (let k = 0; k < perTick; k++) {
        const ws = open[i % open.length];
        const nsp = cfg.namespaces[i % cfg.namespaces.length];
        i += 1;
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(nsp === "/" ? '42["chat","hi"]' : `42${nsp},["chat","hi"]`);
        }
      }
    }, 100);
  }
}

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
main().catch((err) => {
  log(`fatal: ${err.stack || err}`);
  process.exit(2);
});
