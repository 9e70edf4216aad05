// Node's socket.io 4.8.4 as a server under test: the reference the ratios are read against.
// Resolved from tests/interop/node_modules so the repository keeps one npm install.
// Prints {"port": N, "pid": P} on stdout once listening on 127.0.0.1 (port 0 = any free).
"use strict";
const path = require("path");
const http = require("http");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "..", "tests", "interop", "package.json"));
const { Server } = interop("socket.io");

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const port = Number(opt("--port", "0"));
const host = opt("--host", "127.0.0.1");

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: 25000,
  pingTimeout: 20000,
  perMessageDeflate: false, // Node's default, stated so the comparison is explicit
  serveClient: false,
});

io.on("connection", (socket) => {
  socket.join("all");
  socket.on("echo", (arg, ack) => {
    if (typeof ack === "function") ack(arg);
  });
  socket.on("broadcast", (payload) => {
    io.to("all").emit("broadcast", payload);
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port, pid: process.pid }) + "\n");
});

const stop = () => {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
