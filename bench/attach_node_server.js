// The attach benchmark's Node peer: socket.io 4.8 with @socket.io/admin-ui 0.5.1 in
// development mode, namespaces `/`, `/n1` … like bench/attach_server.py. Binds
// 127.0.0.1:0 and prints {"port": N, "pid": P}; exits on stdin EOF.
//
// usage: node attach_node_server.js [namespaces] [password]
"use strict";
const path = require("path");
const http = require("http");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "tests", "interop", "package.json"));
const { Server } = interop("socket.io");
const { instrument } = interop("@socket.io/admin-ui");
const bcrypt = interop("bcryptjs");

const count = Number(process.argv[2] || "1");
const password = process.argv[3];
const httpServer = http.createServer();
// maxHttpBufferSize: the inspector's commands are small; left at Node's default.
const io = new Server(httpServer, { pingInterval: 25000, pingTimeout: 20000 });
instrument(io, {
  auth: password
    ? { type: "basic", username: "admin", password: bcrypt.hashSync(password, 4) }
    : false,
  mode: "development",
  serverId: "attach-bench-node",
});
const names = ["/"];
for (let i = 1; i < count; i++) names.push(`/n${i}`);
for (const name of names) {
  io.of(name).on("connection", (socket) => {
    socket.join("lobby");
    socket.on("chat", () => {});
  });
}
httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port, pid: process.pid }) + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
