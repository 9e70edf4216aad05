// Node's socket.io 4.8.4 as the reference for disconnect reasons. Every socket on "/"
// and "/custom" reports, one JSON line each: connection, error, disconnecting and
// disconnect (each with its rooms, in join order). A client steers it with
// 42["do", action]: "join" (room "r1"), "disconnect", "disconnect-close", "conn-close";
// an ack, if asked, follows the action.
// Prints {"port": N} first.
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval: 300, pingTimeout: 200, connectTimeout: 1000 });
const out = (record) => process.stdout.write(JSON.stringify(record) + "\n");

function instrument(socket) {
  out({ id: socket.id, event: "connection", nsp: socket.nsp.name });
  socket.on("error", (err) => out({ id: socket.id, event: "error", message: err.message }));
  socket.on("disconnecting", (reason) =>
    out({ id: socket.id, event: "disconnecting", reason, rooms: [...socket.rooms] }));
  socket.on("disconnect", (reason) =>
    out({ id: socket.id, event: "disconnect", reason, rooms: [...socket.rooms] }));
  socket.on("do", (action, ack) => {
    if (action === "join") socket.join("r1");
    if (typeof ack === "function") ack();
    if (action === "disconnect") socket.disconnect();
    if (action === "disconnect-close") socket.disconnect(true);
    if (action === "conn-close") socket.conn.close();
  });
}
io.on("connection", instrument);
io.of("/custom").on("connection", instrument);

httpServer.listen(0, "127.0.0.1", () => out({ port: httpServer.address().port }));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
