// The load generator: Socket.IO v5 over Engine.IO v4 spoken by hand over `ws` (websocket)
// and node:http (long-polling), so one Node process can saturate a Python server on a
// 2-core machine without being the bottleneck. It measures the server from outside:
// CPU from /proc/<pid>/task/*/schedstat (ns, all threads) and RSS from /proc/<pid>/status
// around each measured phase, and its own CPU with process.cpuUsage(), so a reader can
// tell whether the generator was the limit.
//
// Usage: node loadgen.js '<json config>'   (the harness, bench/run.py, writes the config)
// Output: one JSON line per measured phase on stdout; progress on stderr.
"use strict";
const fs = require("fs");
const path = require("path");
const http = require("http");
const { performance } = require("perf_hooks");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "tests", "interop", "package.json"));
const WebSocket = interop("ws");

const cfg = Object.assign(
  {
    scenario: "echo",
    host: "127.0.0.1",
    port: 0,
    path: "/socket.io/",
    serverPid: 0,
    clients: 100,
    concurrency: 50, // handshakes in flight at once
    durationS: 10, // echo/polling measured window
    warmupS: 1,
    broadcasts: 200,
    rate: 40, // broadcasts per second, fixed-pace fan-out
    payloadBytes: 32,
    offerDeflate: false,
    settleS: 1,
    settleMs: 300, // slow_reader: pause after each broadcast before RSS is read
    canaryMs: 50, // slow_reader: the canary's ack pace
    timeoutS: 120, // whole-run watchdog
  },
  JSON.parse(process.argv[2] || "{}"),
);

const log = (...a) => process.stderr.write(`[loadgen ${cfg.scenario}] ${a.join(" ")}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const watchdog = setTimeout(() => {
  out({ error: `watchdog: run exceeded ${cfg.timeoutS}s` });
  process.exit(3);
}, cfg.timeoutS * 1000);
watchdog.unref();

function out(obj) {
  process.stdout.write(JSON.stringify(Object.assign({ scenario: cfg.scenario }, obj)) + "\n");
}

// ---------------------------------------------------------------- measuring the server

function serverCpuNs() {
  const dir = `/proc/${cfg.serverPid}/task`;
  let total = 0;
  for (const tid of fs.readdirSync(dir)) {
    try {
      total += Number(fs.readFileSync(`${dir}/${tid}/schedstat`, "latin1").split(" ")[0]);
    } catch {
      // a thread that exited between readdir and read: its time is gone either way
    }
  }
  return total;
}

function serverRssKb() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${cfg.serverPid}/status`, "latin1"));
  return m ? Number(m[1]) : NaN;
}

function meter() {
  const t0 = performance.now();
  const s0 = serverCpuNs();
  const l0 = process.cpuUsage();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const server = (serverCpuNs() - s0) / 1e9;
    const l = process.cpuUsage(l0);
    const gen = (l.user + l.system) / 1e6;
    return {
      wall_s: wall,
      server_cpu_s: server,
      server_cpu_util: server / wall,
      loadgen_cpu_s: gen,
      loadgen_cpu_util: gen / wall,
    };
  };
}

// Wait until the server has gone quiet (less than 2% of a core over 50 ms), so the
// previous phase's tail (closes, GC) is not billed to the next one. Bounded.
async function quiesce(maxMs = 3000) {
  const end = performance.now() + maxMs;
  let prev = serverCpuNs();
  while (performance.now() < end) {
    await sleep(50);
    const now = serverCpuNs();
    if (now - prev < 1e6) return;
    prev = now;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function latencies(values) {
  const a = Float64Array.from(values).sort();
  return { p50_ms: percentile(a, 50), p99_ms: percentile(a, 99), samples: a.length };
}

function result(op, ops, m, lat, extra) {
  return Object.assign(
    {
      op,
      ops,
      throughput_per_s: ops / m.wall_s,
      server_cpu_us_per_op: ops > 0 ? (m.server_cpu_s * 1e6) / ops : null,
      rss_kb: serverRssKb(),
    },
    m,
    lat,
    extra || {},
  );
}

// ---------------------------------------------------------------- protocol helpers

const PAD = "x".repeat(Math.max(0, cfg.payloadBytes));

// `43<id>[...]` or `42<id>[...]`: the ack id is the run of digits after the type.
function ackIdOf(s) {
  let i = 2;
  let id = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    id = id * 10 + (c - 48);
    i++;
  }
  return i === 2 ? -1 : id;
}

function seqOf(s) {
  const i = s.indexOf('"seq":');
  return i < 0 ? -1 : parseInt(s.slice(i + 6, i + 20), 10);
}

// One Socket.IO client on a raw websocket: open → "40" → CONNECT reply, pings answered,
// acks by id, events handed to `onEvent(raw)` unparsed (the generator only reads a seq).
class WsClient {
  constructor() {
    this.acks = new Map();
    this.nextAck = 0;
    this.onEvent = null;
    this.ws = null;
  }

  connect(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const url = `ws://${cfg.host}:${cfg.port}${cfg.path}?EIO=4&transport=websocket`;
      const ws = new WebSocket(url, { perMessageDeflate: cfg.offerDeflate });
      this.ws = ws;
      let settled = false;
      const done = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          ws.terminate();
          reject(err);
        } else resolve();
      };
      const timer = setTimeout(() => done(new Error("connect timeout")), timeoutMs);
      ws.on("error", (e) => done(e));
      ws.on("close", () => done(new Error("closed before CONNECT")));
      ws.on("message", (data) => {
        const s = data.toString();
        const c = s.charCodeAt(0);
        if (c === 52 /* 4 message */) {
          const t = s.charCodeAt(1);
          if (t === 51 /* 3 ack */) {
            const id = ackIdOf(s);
            const cb = this.acks.get(id);
            if (cb) {
              this.acks.delete(id);
              cb(s);
            }
          } else if (t === 50 /* 2 event */) {
            if (this.onEvent) this.onEvent(s);
          } else if (t === 48 /* 0 connect */) done(null);
          else if (t === 52 /* 4 connect_error */) done(new Error(`CONNECT refused: ${s}`));
        } else if (c === 48 /* 0 open */) ws.send("40");
        else if (c === 50 /* 2 ping */) ws.send("3");
      });
    });
  }

  emitAck(event, argJson, cb) {
    const id = this.nextAck++;
    this.acks.set(id, cb);
    this.ws.send(`42${id}["${event}",${argJson}]`);
  }

  emit(event, argJson) {
    this.ws.send(`42["${event}",${argJson}]`);
  }

  close() {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED) return resolve();
      const t = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 3000);
      this.ws.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      this.ws.close();
    });
  }
}

// Connect `n` clients with at most `concurrency` handshakes in flight; handshake latency
// runs from `new WebSocket` to the namespace CONNECT reply.
async function connectMany(n, concurrency) {
  const clients = [];
  const lat = [];
  let errors = 0;
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      const c = new WsClient();
      const t0 = performance.now();
      try {
        await c.connect();
        lat.push(performance.now() - t0);
        clients.push(c);
      } catch (e) {
        errors++;
        if (errors <= 3) log("connect failed:", e.message);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { clients, lat, errors };
}

async function closeAll(clients) {
  await Promise.all(clients.map((c) => c.close()));
}

// ---------------------------------------------------------------- scenarios

async function scenarioConnect() {
  const n = cfg.clients;
  const phases = [
    ["connect_cold", true],
    ["connect_warmup", false],
    ["connect_steady", true],
  ];
  for (const [name, measured] of phases) {
    await quiesce();
    const m = meter();
    const { clients, lat, errors } = await connectMany(n, cfg.concurrency);
    const meas = m();
    if (measured) {
      out(
        Object.assign(
          { scenario: name },
          result("handshake", clients.length, meas, latencies(lat), { errors, clients: n }),
        ),
      );
    }
    await closeAll(clients);
  }
}

/**
 * Each client emits `echo` with an ack, the next one as soon as the ack arrives; acks
 * are counted (with their latency) only inside the measured window after the warm-up.
 * Shared by the websocket and the long-polling scenarios, whose clients both offer
 * `emitAck(event, argJson, cb)` (a polling client also has `closed`). Waits (at most
 * 5 s) for the acks still in flight when the window ends, so closing comes after them.
 */
async function sequentialAcks(clients) {
  const arg = JSON.stringify({ text: PAD, n: 42 });
  let measuring = false;
  let running = true;
  let ops = 0;
  const lat = [];
  let inflight = 0;
  let drained = null;
  for (const c of clients) {
    const loop = () => {
      if (!running || c.closed) {
        if (--inflight === 0 && drained) drained();
        return;
      }
      const t0 = performance.now();
      c.emitAck("echo", arg, () => {
        if (measuring) {
          ops++;
          lat.push(performance.now() - t0);
        }
        loop();
      });
    };
    inflight++;
    loop();
  }
  await sleep(cfg.warmupS * 1000);
  const m = meter();
  measuring = true;
  await sleep(cfg.durationS * 1000);
  measuring = false;
  const meas = m();
  const count = ops;
  running = false;
  if (inflight > 0) await Promise.race([new Promise((r) => (drained = r)), sleep(5000)]);
  return { count, meas, lat };
}

async function scenarioEcho() {
  const { clients, errors } = await connectMany(cfg.clients, cfg.concurrency);
  if (clients.length === 0) throw new Error("no client connected");
  const { count, meas, lat } = await sequentialAcks(clients);
  out(result("ack", count, meas, latencies(lat), { errors, clients: clients.length }));
  await closeAll(clients);
}

async function scenarioFanout() {
  const { clients, errors } = await connectMany(cfg.clients, cfg.concurrency);
  if (clients.length === 0) throw new Error("no client connected");
  const n = clients.length;
  const sentAt = new Map();
  const received = new Map();
  const lat = [];
  let waiter = null; // {seq, resolve} for the closed loop
  let pending = 0; // deliveries still expected
  let allDone = null;
  let deliveries = 0;
  const onEvent = (raw) => {
    const seq = seqOf(raw);
    const t = sentAt.get(seq);
    if (t === undefined) return;
    lat.push(performance.now() - t);
    deliveries++;
    const got = (received.get(seq) || 0) + 1;
    received.set(seq, got);
    if (got === n) {
      completion.push(performance.now() - t);
      if (waiter && waiter.seq === seq) waiter.resolve();
    }
    if (--pending === 0 && allDone) allDone();
  };
  let completion = [];
  for (const c of clients) c.onEvent = onEvent;
  const sender = clients[0];
  let seq = 0;
  const send = () => {
    const s = seq++;
    sentAt.set(s, performance.now());
    pending += n;
    sender.emit("broadcast", `{"seq":${s},"text":"${PAD}"}`);
    return s;
  };
  const closedOne = (timeoutMs) =>
    new Promise((resolve) => {
      const s = send();
      const t = setTimeout(resolve, timeoutMs);
      waiter = {
        seq: s,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
    });
  const drain = (timeoutMs) =>
    pending === 0
      ? Promise.resolve()
      : Promise.race([new Promise((r) => (allDone = r)), sleep(timeoutMs)]);

  // warm-up: a few closed-loop broadcasts, not measured
  for (let i = 0; i < 5; i++) await closedOne(5000);
  await quiesce();

  const phase = async (name, body) => {
    lat.length = 0;
    completion = [];
    deliveries = 0;
    const expected = cfg.broadcasts * n;
    const m = meter();
    await body();
    const meas = m();
    const lost = expected - deliveries;
    const l = latencies(lat);
    const c = latencies(completion);
    out(
      Object.assign(
        { scenario: name },
        result("delivery", deliveries, meas, l, {
          errors,
          clients: n,
          broadcasts: cfg.broadcasts,
          lost,
          complete_p50_ms: c.p50_ms,
          complete_p99_ms: c.p99_ms,
        }),
      ),
    );
    received.clear();
    sentAt.clear();
    pending = 0;
    await quiesce();
  };

  const budgetMs = Math.max(10000, (cfg.timeoutS * 1000) / 4);
  await phase("fanout_paced", async () => {
    const t0 = performance.now();
    const interval = 1000 / cfg.rate;
    for (let i = 0; i < cfg.broadcasts; i++) {
      const due = t0 + i * interval - performance.now();
      if (due > 0) await sleep(due);
      send();
    }
    await drain(budgetMs);
  });
  await phase("fanout_closed", async () => {
    const end = performance.now() + budgetMs;
    for (let i = 0; i < cfg.broadcasts && performance.now() < end; i++) await closedOne(5000);
    await drain(2000);
  });
  await closeAll(clients);
}

async function scenarioIdle() {
  // warm the server's code paths (imports, caches, first allocations) before the baseline
  const warm = await connectMany(Math.min(10, cfg.clients), cfg.concurrency);
  await closeAll(warm.clients);
  await quiesce();
  await sleep(Math.min(300, cfg.settleS * 1000));
  const rss0 = serverRssKb();
  const m = meter();
  const { clients, lat, errors } = await connectMany(cfg.clients, cfg.concurrency);
  await sleep(cfg.settleS * 1000);
  await quiesce();
  const meas = m();
  const rss1 = serverRssKb();
  out(
    Object.assign(
      result("connection", clients.length, meas, latencies(lat), {
        errors,
        clients: cfg.clients,
        rss_before_kb: rss0,
        rss_after_kb: rss1,
        rss_kb_per_conn: clients.length ? (rss1 - rss0) / clients.length : null,
        offer_deflate: cfg.offerDeflate,
      }),
    ),
  );
  await closeAll(clients);
}

/**
 * Slow readers: `clients` sockets complete the handshake and then stop reading (their
 * TCP socket paused, so the kernel buffers fill and the server's writes back up), while
 * a sender asks for `broadcasts` broadcasts of `payloadBytes` each to room `all` and a
 * canary acks `echo` every `canaryMs` throughout. Reported: the server's RSS growth per
 * broadcast, and the canary's longest ack round trip, which is the longest the server's
 * event loop was blocked (plus one loopback round trip): the same outside view for every
 * server. A broadcast counts as sent when the sender gets its own copy back.
 */
async function scenarioSlowReader() {
  const { clients: slow, errors } = await connectMany(cfg.clients, cfg.concurrency);
  if (slow.length === 0) throw new Error("no client connected");
  let closedByServer = 0;
  for (const c of slow) {
    c.ws.removeAllListeners("message");
    c.ws.on("close", () => closedByServer++);
    c.ws._socket.pause(); // stop reading: nothing is taken from the kernel any more
  }
  const [sender, canary] = (await connectMany(2, 2)).clients;
  if (!sender || !canary) throw new Error("sender or canary did not connect");
  let waiter = null;
  sender.onEvent = (raw) => {
    if (waiter && seqOf(raw) === waiter.seq) waiter.resolve();
  };
  await quiesce();
  await sleep(200);
  const rss0 = serverRssKb();

  const rtts = [];
  let canaryRunning = true;
  let canaryDone = null;
  const canaryLoop = () => {
    if (!canaryRunning) return canaryDone && canaryDone();
    const t0 = performance.now();
    canary.emitAck("echo", "1", () => {
      const rtt = performance.now() - t0;
      rtts.push(rtt);
      setTimeout(canaryLoop, Math.max(0, cfg.canaryMs - rtt));
    });
  };
  canaryLoop();

  const text = "x".repeat(cfg.payloadBytes);
  const m = meter();
  const rssAfter = [];
  const sendLat = [];
  let timedOut = 0;
  for (let i = 0; i < cfg.broadcasts; i++) {
    const t0 = performance.now();
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        timedOut++;
        resolve();
      }, 30000);
      waiter = {
        seq: i,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
      sender.emit("broadcast", `{"seq":${i},"text":"${text}"}`);
    });
    sendLat.push(performance.now() - t0);
    await sleep(cfg.settleMs);
    rssAfter.push(serverRssKb());
  }
  const meas = m();
  canaryRunning = false;
  await Promise.race([new Promise((r) => (canaryDone = r)), sleep(5000)]);
  const rss1 = serverRssKb();
  const sorted = Float64Array.from(rtts).sort();
  out(
    Object.assign(
      result("broadcast", cfg.broadcasts - timedOut, meas, latencies(sendLat), {
        errors: errors + timedOut,
        clients: slow.length,
        broadcasts: cfg.broadcasts,
        payload_bytes: cfg.payloadBytes,
        rss_before_kb: rss0,
        rss_after_kb: rss1,
        rss_per_broadcast_kb: rssAfter,
        rss_growth_kb_per_broadcast: (rss1 - rss0) / cfg.broadcasts,
        stall_ms: sorted.length ? sorted[sorted.length - 1] : null,
        canary_p50_ms: percentile(sorted, 50),
        canary_acks: sorted.length,
        slow_closed_by_server: closedByServer,
      }),
    ),
  );
  for (const c of slow) c.ws.terminate();
  await closeAll([sender, canary]);
}

// ---------------------------------------------------------------- long-polling

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });

function httpRequest(method, query, body, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: cfg.host,
        port: cfg.port,
        method,
        path: `${cfg.path}?EIO=4&transport=polling${query}`,
        agent,
        headers: body !== undefined ? { "content-type": "text/plain;charset=UTF-8" } : {},
        timeout: timeoutMs,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} timeout`)));
    req.on("error", reject);
    req.end(body);
  });
}

// One Socket.IO client on long-polling only: a GET always outstanding, POSTs serialized
// (Engine.IO refuses overlapping POSTs) and batched with the \x1e separator.
class PollClient {
  constructor() {
    this.acks = new Map();
    this.nextAck = 0;
    this.queue = [];
    this.posting = false;
    this.closed = false;
    this.errors = 0;
  }

  async connect() {
    const r = await httpRequest("GET", "");
    if (r.status !== 200 || r.text[0] !== "0") throw new Error(`handshake: ${r.status} ${r.text}`);
    this.sid = JSON.parse(r.text.slice(1)).sid;
    const connected = new Promise((resolve, reject) => {
      this.onConnect = resolve;
      this.onConnectError = reject;
    });
    this.send("40");
    this.poll();
    await connected;
  }

  async poll() {
    while (!this.closed) {
      let r;
      try {
        r = await httpRequest("GET", `&sid=${this.sid}`);
      } catch (e) {
        if (!this.closed) this.fail(e);
        return;
      }
      if (r.status !== 200) return this.fail(new Error(`poll ${r.status}: ${r.text}`));
      for (const p of r.text.split("\x1e")) this.handle(p);
    }
  }

  handle(s) {
    const c = s.charCodeAt(0);
    if (c === 52) {
      const t = s.charCodeAt(1);
      if (t === 51) {
        const id = ackIdOf(s);
        const cb = this.acks.get(id);
        if (cb) {
          this.acks.delete(id);
          cb(s);
        }
      } else if (t === 48) this.onConnect();
      else if (t === 52) this.onConnectError(new Error(`CONNECT refused: ${s}`));
    } else if (c === 50) this.send("3");
    else if (c === 49) this.closed = true;
  }

  fail(e) {
    if (this.closing) return;
    this.errors++;
    this.closed = true;
    if (this.onConnectError) this.onConnectError(e);
    log("polling client failed:", e.message);
  }

  send(pkt) {
    this.queue.push(pkt);
    if (!this.posting) this.flush();
  }

  async flush() {
    this.posting = true;
    while (this.queue.length && !this.closed) {
      const body = this.queue.join("\x1e");
      this.queue = [];
      try {
        const r = await httpRequest("POST", `&sid=${this.sid}`, body);
        if (r.status !== 200) throw new Error(`post ${r.status}: ${r.text}`);
      } catch (e) {
        this.fail(e);
      }
    }
    this.posting = false;
  }

  emitAck(event, argJson, cb) {
    const id = this.nextAck++;
    this.acks.set(id, cb);
    this.send(`42${id}["${event}",${argJson}]`);
  }

  async close() {
    if (this.closed) return;
    this.closing = true;
    this.send("1");
    await sleep(0);
    this.closed = true;
  }
}

async function scenarioPolling() {
  const clients = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < cfg.clients) {
      next++;
      const c = new PollClient();
      try {
        await c.connect();
        clients.push(c);
      } catch (e) {
        errors++;
        if (errors <= 3) log("polling connect failed:", e.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.clients) }, worker));
  if (clients.length === 0) throw new Error("no polling client connected");
  const { count, meas, lat } = await sequentialAcks(clients);
  errors += clients.reduce((a, c) => a + c.errors, 0);
  out(result("ack", count, meas, latencies(lat), { errors, clients: clients.length }));
  await Promise.all(clients.map((c) => c.close()));
  await sleep(200);
  agent.destroy();
}


// ---------------------------------------------------------------- scale

// Connections added in steps (cfg.steps, e.g. 1,000 -> 3,000 -> 10,000), all kept open:
// at each step the handshakes of that batch (CPU per handshake, rate), the RSS per
// connection of all open ones, then closed-loop broadcasts to every socket (CPU per
// delivery). A cost that grows from step to step is where a server stops scaling
// linearly. Bounded: each broadcast waits at most 10 s for its deliveries.
async function scenarioScale() {
  const warm = await connectMany(Math.min(10, cfg.steps[0]), cfg.concurrency);
  await closeAll(warm.clients);
  await quiesce();
  const rss0 = serverRssKb();
  const clients = [];
  let errors = 0;
  for (const target of cfg.steps) {
    await quiesce();
    const m = meter();
    const batch = await connectMany(target - clients.length, cfg.concurrency);
    const meas = m();
    clients.push(...batch.clients);
    errors += batch.errors;
    out(
      Object.assign(
        { scenario: `scale_connect_${target}` },
        result("handshake", batch.clients.length, meas, latencies(batch.lat), {
          errors: batch.errors,
          clients: clients.length,
        }),
      ),
    );
    await sleep(cfg.settleS * 1000);
    await quiesce();
    const n = clients.length;
    out(
      Object.assign(
        { scenario: `scale_idle_${target}` },
        result("connection", n, meas, latencies([]), {
          errors,
          clients: n,
          rss_kb_per_conn: n ? (serverRssKb() - rss0) / n : null,
        }),
      ),
    );
    let seq = 0;
    let got = 0;
    let done = null;
    const lat = [];
    let sentAt = 0;
    const onEvent = (raw) => {
      if (seqOf(raw) !== seq) return;
      lat.push(performance.now() - sentAt);
      if (++got === n && done) done();
    };
    for (const c of clients) c.onEvent = onEvent;
    let deliveries = 0;
    const mb = meter();
    for (let i = 0; i < cfg.broadcasts; i++) {
      seq = i;
      got = 0;
      sentAt = performance.now();
      const all = new Promise((resolve) => (done = resolve));
      clients[0].emit("broadcast", `{"seq":${i},"text":"${PAD}"}`);
      await Promise.race([all, sleep(10000)]);
      deliveries += got;
    }
    const measB = mb();
    out(
      Object.assign(
        { scenario: `scale_fanout_${target}` },
        result("delivery", deliveries, measB, latencies(lat), {
          errors,
          clients: n,
          broadcasts: cfg.broadcasts,
          lost: cfg.broadcasts * n - deliveries,
        }),
      ),
    );
  }
  await closeAll(clients);
}

// ---------------------------------------------------------------- main

const SCENARIOS = {
  connect: scenarioConnect,
  echo: scenarioEcho,
  fanout: scenarioFanout,
  idle: scenarioIdle,
  idle_deflate: () => {
    cfg.offerDeflate = true;
    return scenarioIdle();
  },
  polling: scenarioPolling,
  slow_reader: scenarioSlowReader,
  scale: scenarioScale,
};

(async () => {
  const fn = SCENARIOS[cfg.scenario];
  if (!fn) throw new Error(`unknown scenario ${cfg.scenario}`);
  if (!cfg.serverPid || !fs.existsSync(`/proc/${cfg.serverPid}`)) {
    throw new Error(`server pid ${cfg.serverPid} not found in /proc`);
  }
  await fn();
})()
  .then(() => process.exit(0))
  .catch((e) => {
    out({ error: String((e && e.message) || e) });
    process.exit(1);
  });
