// Several real socket.io-client 4.8 clients in one process, for the cluster tests.
//
//   node recovery-clients.js
//
// Prints {"ready": true}, then reads JSON commands on stdin:
//   {op: "open", name, url, nsp, auth}       connect a client (websocket only)
//   {op: "emit", name, event, args, ack}     emit (ack: print the reply as "ack")
//   {op: "switch", name, url}                reconnect to url from now on, dropping the
//                                            connection if it is up (recovery tests; a
//                                            dead url keeps the client disconnected)
//   {op: "close", name}                      disconnect
// and prints one JSON line per observation, each with the client's name:
//   connect {id, recovered}, event {event, args} (args include the offset, if any),
//   disconnect {reason}, ack {event, args}, connect_error {message}.
// Events that ask for an ack are answered with one argument, [name, ...args].
// Binary values travel as {"$bin": hex} both ways.
"use strict";
const { io } = require("socket.io-client");
const readline = require("readline");

function out(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function encode(value) {
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (value instanceof Uint8Array) return { $bin: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

function decode(value) {
  if (value && typeof value === "object" && !Array.isArray(value) && "$bin" in value) {
    return Buffer.from(value.$bin, "hex");
  }
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

const clients = new Map();

function open(cmd) {
  const { name } = cmd;
  const socket = io(cmd.url + (cmd.nsp || "/"), {
    auth: cmd.auth || {},
    transports: ["websocket"],
    forceNew: true,
    reconnectionDelay: 50,
    reconnectionDelayMax: 100,
    randomizationFactor: 0,
  });
  clients.set(name, socket);
  socket.on("connect", () => out({ type: "connect", name, id: socket.id, recovered: socket.recovered }));
  socket.on("connect_error", (err) => out({ type: "connect_error", name, message: err.message }));
  socket.on("disconnect", (reason) => out({ type: "disconnect", name, reason }));
  socket.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ type: "event", name, event, args: encode(args) });
    if (ack) ack([name, ...args]); // one argument: broadcast acks keep only the first
  });
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  let cmd;
  try { cmd = JSON.parse(line); } catch { return; }
  if (cmd.op === "open") return open(cmd);
  const socket = clients.get(cmd.name);
  if (!socket) return out({ type: "error", name: cmd.name, message: "no such client" });
  if (cmd.op === "emit") {
    const args = decode(cmd.args || []);
    if (cmd.ack) socket.emit(cmd.event, ...args, (...reply) => out({ type: "ack", name: cmd.name, event: cmd.event, args: encode(reply) }));
    else socket.emit(cmd.event, ...args);
  } else if (cmd.op === "switch") {
    socket.io.uri = cmd.url; // the Manager opens its next engine on this URL
    if (socket.connected) socket.io.engine.close(); // "transport close": recoverable
  } else if (cmd.op === "close") {
    socket.disconnect();
  }
});
rl.on("close", () => process.exit(0));
out({ ready: true });
