// Many real socket.io-client 4.8 peers in one process, named by the test: the clients
// of the mixed-cluster tests (some on a Node server, some on a sioscope server).
//
//   node cluster-clients.js
//
// First stdout line: {"port": null} (nothing listens; the line says "ready"). Then JSON
// lines (see jsonlines.js). Commands:
//
//   connect {name, url, nsp, auth, transports}  -> {sid} once connected
//   emit {name, event, args, ack}               -> ack ? the ack's arguments : null
//   disconnect {name}
//
// Observations, each with the client's `name`: {type: "event", event, args}, and
// {type: "disconnect", reason}. An event sent with an ack request is answered with
// the client's name (so a broadcast ack's responses say who replied).
"use strict";
const { io } = require("socket.io-client");
const { encode, out, serve } = require("./jsonlines");

const clients = new Map();

function client(name) {
  const socket = clients.get(name);
  if (!socket) throw new Error(`no client ${name}`);
  return socket;
}

serve({
  connect: (cmd) => new Promise((resolve, reject) => {
    const socket = io(cmd.url + (cmd.nsp || "/"), {
      auth: cmd.auth || {},
      transports: cmd.transports || ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    clients.set(cmd.name, socket);
    socket.once("connect", () => resolve({ sid: socket.id }));
    socket.once("connect_error", (err) => reject(err));
    socket.on("disconnect", (reason) => out({ name: cmd.name, type: "disconnect", reason }));
    socket.onAny((event, ...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      out({ name: cmd.name, type: "event", event, args: encode(args) });
      if (ack) ack(cmd.name);
    });
  }),
  emit: (cmd) => {
    const socket = client(cmd.name);
    if (!cmd.ack) { socket.emit(cmd.event, ...(cmd.args || [])); return null; }
    return new Promise((resolve) => socket.emit(cmd.event, ...(cmd.args || []), (...reply) => resolve(reply)));
  },
  disconnect: (cmd) => { client(cmd.name).disconnect(); },
});
out({ port: null });
