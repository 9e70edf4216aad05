// Node's own engine.io server (the reference), as an echo server that logs every
// `conn` event as a JSON line, so pytest can compare our event order with Node's.
// Prints {"port": N} first; exits when stdin closes or after 20 s.
// Usage: node engine-node-server.js [pingInterval ms] [pingTimeout ms]
"use strict";
const http = require("http");
const { Server } = require("engine.io");

const httpServer = http.createServer();
// argv: [pingInterval ms] [pingTimeout ms]
const [pingInterval, pingTimeout] = process.argv.slice(2).map(Number);
const engine = new Server({
  pingInterval: pingInterval || 5000,
  pingTimeout: pingTimeout || 5000,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
});
engine.attach(httpServer, { path: "/engine.io/" });

const show = (data) =>
  data === undefined ? null : typeof data === "string" ? data : { hex: Buffer.from(data).toString("hex") };
const log = (sid, ev, extra) => console.log(JSON.stringify({ sid, ev, ...extra }));

engine.on("connection", (conn) => {
  for (const ev of ["packet", "packetCreate"]) {
    conn.on(ev, (p) => log(conn.id, ev, { type: p.type, data: show(p.data) }));
  }
  conn.on("message", (data) => {
    log(conn.id, "message", { data: show(data) });
    // control messages for the differential test: server-initiated closes
    if (data === "close-me") return conn.close();
    if (data === "bye-close") {
      conn.send("bye");
      return conn.close();
    }
    conn.send(data);
  });
  for (const ev of ["flush", "drain", "heartbeat", "upgrading", "upgrade"]) {
    conn.on(ev, () => log(conn.id, ev, {}));
  }
  conn.on("close", (reason) => log(conn.id, "close", { reason }));
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: httpServer.address().port }));
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 20000);
