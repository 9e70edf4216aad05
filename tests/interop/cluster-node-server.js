// A Node socket.io 4.8 server in a Redis cluster, with a real npm cluster adapter: the
// Node peer of the mixed-cluster tests (a sioscope server on the same Redis beside it).
//
//   node cluster-node-server.js '<options json>'
//
// options: {adapter: "classic" (default) | "sharded" | "streams", redisUrl, nsps: ["/"],
//   key, requestsTimeout, publishOnSpecificResponseChannel (classic), serverSide: [event
//   names this server listens to with io.of(nsp).on(...)], admin: a serverId to
//   instrument the server with @socket.io/admin-ui (auth off, development mode)}.
// First stdout line: {"port": N, "uids": {nsp: adapter uid}}. Then JSON lines (see
// jsonlines.js): observations {event: "connection"|"disconnect"|"serverSide", ...} and
// answers to the commands below. Every command takes `nsp` (default "/"); targets are
// `rooms`, `except` (lists) and `flags` ({volatile, local, compress}); `timeout` is ms.
//
//   emit {event, args}                      io.to(rooms).except(except)[flags].emit
//   emitWithAck {event, args, timeout}      ...timeout(t).emit(ev, ...args, cb)
//                                           -> {error: message|null, responses}
//   fetchSockets                            -> [{id, handshake, rooms, data, local}]
//   remote {sid, action: emit|emitWithAck|join|leave|disconnect, event, args, room,
//           close, timeout}                 the RemoteSocket of fetchSockets() for sid
//   socketsJoin {room} / socketsLeave {room} / disconnectSockets {close}
//   serverSideEmit {event, args, ack}       -> ack ? {error, responses} : null
//   serverCount / allRooms / uid
//   join {sid, room} / leave {sid, room} / setData {sid, data} / rooms {sid}: on a
//           socket of this server
//
// A server-side event (names in options.serverSide) is reported as {event:
// "serverSide", nsp, name, args}; when it carries an ack the reply is
// {server: "node", name, args}.
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { encode, out, serve } = require("./jsonlines");

const options = JSON.parse(process.argv[2] || "{}");
const nsps = options.nsps || ["/"];

async function makeAdapter() {
  const kind = options.adapter || "classic";
  const pub = createClient({ url: options.redisUrl });
  pub.on("error", (err) => out({ event: "redisError", message: err.message }));
  if (kind === "classic") {
    const { createAdapter } = require("@socket.io/redis-adapter");
    const sub = pub.duplicate();
    sub.on("error", (err) => out({ event: "redisError", message: err.message }));
    await Promise.all([pub.connect(), sub.connect()]);
    return createAdapter(pub, sub, {
      key: options.key,
      requestsTimeout: options.requestsTimeout,
      publishOnSpecificResponseChannel: options.publishOnSpecificResponseChannel,
    });
  }
  // TODO(streams): "sharded" (createShardedAdapter) and "streams" (redis-streams-adapter).
  throw new Error(`adapter ${kind} not wired yet`);
}

function target(nspOrOp, cmd) {
  let op = nspOrOp;
  if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  const flags = cmd.flags || {};
  if (flags.volatile) op = op.volatile;
  if (flags.local) op = op.local;
  if (flags.compress !== undefined) op = op.compress(flags.compress);
  return op;
}

function describe(socket) {
  return {
    id: socket.id,
    handshake: socket.handshake,
    rooms: [...socket.rooms],
    data: socket.data,
    local: typeof socket.conn === "object", // a real Socket, not a RemoteSocket
  };
}

function withAck(emitter, args, timeout) {
  return new Promise((resolve) => {
    const op = timeout === undefined ? emitter : emitter.timeout(timeout);
    op.emit(...args, (err, responses) =>
      resolve({ error: err ? err.message : null, responses }));
  });
}

async function main() {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: await makeAdapter(), pingInterval: 1000 });
  if (options.admin) {
    const { instrument } = require("@socket.io/admin-ui");
    instrument(io, { auth: false, serverId: options.admin, mode: "development" });
  }
  const uids = {};
  for (const name of nsps) {
    const nsp = io.of(name);
    uids[name] = nsp.adapter.uid;
    nsp.on("connection", (socket) => {
      out({ event: "connection", nsp: name, id: socket.id });
      socket.on("disconnect", (reason) => out({ event: "disconnect", nsp: name, id: socket.id, reason }));
    });
    for (const event of options.serverSide || []) {
      nsp.on(event, (...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        out({ event: "serverSide", nsp: name, name: event, args: encode(args) });
        if (ack) ack({ server: "node", name: event, args });
      });
    }
  }
  const nspOf = (cmd) => io.of(cmd.nsp || "/");
  const local = (cmd) => {
    const socket = nspOf(cmd).sockets.get(cmd.sid);
    if (!socket) throw new Error(`no local socket ${cmd.sid}`);
    return socket;
  };

  serve({
    emit: (cmd) => { target(nspOf(cmd), cmd).emit(cmd.event, ...(cmd.args || [])); },
    emitWithAck: (cmd) => withAck(target(nspOf(cmd), cmd), [cmd.event, ...(cmd.args || [])], cmd.timeout),
    fetchSockets: async (cmd) => (await target(nspOf(cmd), cmd).fetchSockets()).map(describe),
    remote: async (cmd) => {
      const sockets = await nspOf(cmd).fetchSockets();
      const socket = sockets.find((s) => s.id === cmd.sid);
      if (!socket) throw new Error(`no socket ${cmd.sid} in the cluster`);
      switch (cmd.action) {
        case "emit": socket.emit(cmd.event, ...(cmd.args || [])); return null;
        case "emitWithAck": return withAck(socket, [cmd.event, ...(cmd.args || [])], cmd.timeout);
        case "join": socket.join(cmd.room); return null;
        case "leave": socket.leave(cmd.room); return null;
        case "disconnect": socket.disconnect(Boolean(cmd.close)); return null;
        default: throw new Error(`unknown action ${cmd.action}`);
      }
    },
    socketsJoin: (cmd) => { target(nspOf(cmd), cmd).socketsJoin(cmd.room); },
    socketsLeave: (cmd) => { target(nspOf(cmd), cmd).socketsLeave(cmd.room); },
    disconnectSockets: (cmd) => { target(nspOf(cmd), cmd).disconnectSockets(Boolean(cmd.close)); },
    serverSideEmit: (cmd) => {
      const args = [cmd.event, ...(cmd.args || [])];
      if (!cmd.ack) { nspOf(cmd).serverSideEmit(...args); return null; }
      return new Promise((resolve) => nspOf(cmd).serverSideEmit(...args, (err, responses) =>
        resolve({ error: err ? err.message : null, responses })));
    },
    serverCount: (cmd) => nspOf(cmd).adapter.serverCount(),
    allRooms: async (cmd) => [...(await nspOf(cmd).adapter.allRooms())],
    uid: (cmd) => nspOf(cmd).adapter.uid,
    join: (cmd) => { local(cmd).join(cmd.room); },
    leave: (cmd) => { local(cmd).leave(cmd.room); },
    setData: (cmd) => { local(cmd).data = cmd.data; },
    rooms: (cmd) => [...local(cmd).rooms],
  });
  httpServer.listen(0, "127.0.0.1", () => out({ port: httpServer.address().port, uids }));
}

main().catch((err) => {
  out({ fatal: err.message });
  process.exit(1);
});
