// A Node socket.io 4.8 server in a Redis cluster, with a real npm cluster adapter: the
// one Node peer of the cluster tests (a sioscope server on the same Redis beside it).
//
//   node cluster-node-server.js '<options json>'
//
// options: {adapter: "classic" (default) | "sharded" | "streams" | "memory" (no Redis),
//   redisUrl, nsps: ["/"] (alias: namespaces), adapterOptions: {...} (passed to
//   createShardedAdapter / the streams createAdapter as is), key, requestsTimeout,
//   publishOnSpecificResponseChannel (classic), recovery: {maxDisconnectionDuration,
//   skipMiddlewares} (connectionStateRecovery), serverSide: [event names this server
//   listens to with io.of(nsp).on(...)], serverSideReply: "echo" (default: the ack gets
//   {server: "node", name, args}) | "pong" (the ack gets ["pong", args[0]]), admin: a
//   serverId to instrument the server with @socket.io/admin-ui (auth off, development)}.
// A connection joins handshake.auth.rooms and takes auth.data as socket.data (unless it
// was recovered). First stdout line: {"port": N, "uids": {nsp: adapter uid}}. Then JSON
// lines (see jsonlines.js): observations {event: "connection" (nsp, id, recovered,
// rooms, data) | "disconnect" (nsp, id, reason) | "serverSide" (nsp, name, args)} and
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
//   join {sid, room} / leave {sid, room} / setData {sid, data} / rooms {sid} /
//   socketEmit {sid, event, args}: on a socket of this server
//
// A server-side event (names in options.serverSide) is reported as {event:
// "serverSide", nsp, name, args} and acked as serverSideReply says.
"use strict";
const http = require("node:http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { encode, out, serve } = require("./jsonlines");

const options = JSON.parse(process.argv[2] || "{}");
const nsps = options.nsps || options.namespaces || ["/"];

async function makeAdapter() {
  const kind = options.adapter || "classic";
  if (kind === "memory") return { adapter: undefined, clients: [] };
  const pub = createClient({ url: options.redisUrl });
  pub.on("error", (err) => out({ event: "redisError", message: err.message }));
  const adapterOptions = options.adapterOptions || {};
  if (kind === "streams") {
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    await pub.connect();
    return { adapter: createAdapter(pub, adapterOptions), clients: [pub] };
  }
  const sub = pub.duplicate();
  sub.on("error", (err) => out({ event: "redisError", message: err.message }));
  await Promise.all([pub.connect(), sub.connect()]);
  if (kind === "sharded") {
    const { createShardedAdapter } = require("@socket.io/redis-adapter");
    return { adapter: createShardedAdapter(pub, sub, adapterOptions), clients: [pub, sub] };
  }
  if (kind !== "classic") throw new Error(`unknown adapter ${kind}`);
  const { createAdapter } = require("@socket.io/redis-adapter");
  const adapter = createAdapter(pub, sub, {
    key: options.key,
    requestsTimeout: options.requestsTimeout,
    publishOnSpecificResponseChannel: options.publishOnSpecificResponseChannel,
  });
  return { adapter, clients: [pub, sub] };
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
  const { adapter } = await makeAdapter();
  const serverOptions = { pingInterval: 1000 };
  if (adapter) serverOptions.adapter = adapter;
  if (options.recovery) serverOptions.connectionStateRecovery = options.recovery;
  const io = new Server(httpServer, serverOptions);
  if (options.admin) {
    const { instrument } = require("@socket.io/admin-ui");
    instrument(io, { auth: false, serverId: options.admin, mode: "development" });
  }
  const uids = {};
  for (const name of nsps) {
    const nsp = io.of(name);
    uids[name] = nsp.adapter.uid || null;
    nsp.on("connection", (socket) => {
      const auth = socket.handshake.auth || {};
      if (!socket.recovered) {
        if (auth.rooms) socket.join(auth.rooms);
        if (auth.data) socket.data = auth.data;
      }
      out({ event: "connection", nsp: name, id: socket.id, recovered: socket.recovered,
        rooms: [...socket.rooms], data: encode(socket.data) });
      socket.on("disconnect", (reason) => out({ event: "disconnect", nsp: name, id: socket.id, reason }));
    });
    for (const event of options.serverSide || []) {
      nsp.on(event, (...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        out({ event: "serverSide", nsp: name, name: event, args: encode(args) });
        if (!ack) return;
        if (options.serverSideReply === "pong") ack(["pong", args[0]]);
        else ack({ server: "node", name: event, args });
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
    socketEmit: (cmd) => { local(cmd).emit(cmd.event, ...(cmd.args || [])); },
  });
  httpServer.listen(0, "127.0.0.1", () => out({ port: httpServer.address().port, uids }));
}

main().catch((err) => {
  out({ fatal: err.message });
  process.exit(1);
});
