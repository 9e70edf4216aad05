// A real socket.io-client 4.8 peer driven by the Python server under test.
//
//   node sio-client.js <url> '<options json>'
//
// options: {nsp, auth, query, transports, forceNew}. It prints one JSON line per
// observation: connect (with socket.id and transport), upgrade, event (args, binary as
// {"$bin": hex}), ack, connect_error (message, data), disconnect (reason). The server
// steers it with a "cmd" event: {emit: [ev, ...args], ack: bool} to emit (with an ack
// callback when asked), {disconnect: true}, {exit: true}. Any event the server sends
// with an ack request is acknowledged with ["ack", ...args]. In cmd.emit args,
// {"$bin": hex} is a Buffer and {"$utf16": [codes]} a string of those UTF-16 code units
// (so a test can send a lone surrogate, which only JavaScript strings can hold).
"use strict";
const { io } = require("socket.io-client");

const [url, rawOptions] = process.argv.slice(2);
const options = JSON.parse(rawOptions || "{}");

function out(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function encode(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
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
  if (value && typeof value === "object" && !Array.isArray(value) && "$utf16" in value) {
    return String.fromCharCode(...value.$utf16); // lets a test send lone surrogates
  }
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

const socket = io(url + (options.nsp || "/"), {
  auth: options.auth || {},
  query: options.query || {},
  transports: options.transports || ["polling", "websocket"],
  reconnection: false,
  forceNew: true,
});

socket.on("connect", () => {
  out({ type: "connect", id: socket.id, transport: socket.io.engine.transport.name });
});
socket.io.engine.on("upgrade", (transport) => out({ type: "upgrade", transport: transport.name }));
socket.on("connect_error", (err) => {
  out({ type: "connect_error", message: err.message, data: err.data === undefined ? null : err.data });
  setTimeout(() => process.exit(0), 10);
});
socket.on("disconnect", (reason) => {
  out({ type: "disconnect", reason });
  setTimeout(() => process.exit(0), 10);
});
socket.onAny((event, ...args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
  if (event === "cmd") return;
  out({ type: "event", event, args: encode(args), ack: Boolean(ack) });
  if (ack) ack("ack", ...args);
});
socket.on("cmd", (cmd) => {
  if (cmd.emit) {
    const [event, ...args] = decode(cmd.emit);
    if (cmd.ack) {
      socket.emit(event, ...args, (...reply) => out({ type: "ack", event, args: encode(reply) }));
    } else {
      socket.emit(event, ...args);
    }
  }
  if (cmd.disconnect) socket.disconnect();
  if (cmd.exit) process.exit(0);
});
setTimeout(() => { out({ type: "timeout" }); process.exit(1); }, 10000).unref();
