// A Node socket.io 4.8 server instrumented with @socket.io/admin-ui 0.5.1, for the
// inspector's end-to-end tests. Binds 127.0.0.1:0 and prints one JSON line
// {"port": N, "sockets": [...]} once its simulated clients are connected; then one JSON
// line per server-side disconnect {"disconnect": id, "reason": r}. Exits on stdin EOF.
//
// usage: node inspector-node-server.js [--clients N] [--readonly] [--mode production]
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");
const bcrypt = require("bcryptjs");
const { io: connect } = require("socket.io-client");

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const nClients = Number(opt("--clients", "3"));
const readonly = argv.includes("--readonly");
const mode = opt("--mode", "development");

const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval: 2000, pingTimeout: 2000 });
instrument(io, {
  auth: { type: "basic", username: "admin", password: bcrypt.hashSync("s3cret", 4) },
  readonly,
  mode,
  serverId: "node-e2e",
});

io.on("connection", (socket) => {
  socket.data.user = { name: socket.handshake.auth.name || "anon" };
  socket.join("lobby");
  socket.on("chat", (text) => socket.to("lobby").emit("chat", text));
  socket.on("disconnect", (reason) => {
    process.stdout.write(JSON.stringify({ disconnect: socket.id, reason }) + "\n");
  });
});

const clients = [];
httpServer.listen(0, "127.0.0.1", () => {
  const port = httpServer.address().port;
  let ready = 0;
  for (let i = 0; i < nClients; i++) {
    const c = connect(`http://127.0.0.1:${port}`, {
      auth: { name: `user${i}` },
      reconnection: false,
      transports: ["websocket"],
    });
    clients.push(c);
    c.on("connect", () => {
      ready += 1;
      if (ready === nClients) {
        const sockets = clients.map((x) => x.id);
        process.stdout.write(JSON.stringify({ port, sockets }) + "\n");
        setInterval(() => clients[0].connected && clients[0].emit("chat", "hi"), 200).unref();
      }
    });
  }
  if (nClients === 0) process.stdout.write(JSON.stringify({ port, sockets: [] }) + "\n");
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
