// A Node socket.io 4.8 server in a Redis cluster, with one of the real npm adapters.
//
//   node cluster-node.js '<options json>'
//
// options: {adapter: "sharded" | "streams" | "memory" (no Redis), redisUrl, recovery: {maxDisconnectionDuration}?,
// adapterOptions: {...}}. It listens on a free loopback port and prints
// {"port": N, "uid": <adapter uid of "/">}. Then one JSON line per observation:
// connection {id, recovered, rooms, auth}, disconnect {id, reason}, serverSide {args}
// (an event from another server). Commands are JSON lines on stdin, {id, op, ...}; each
// is answered with {type: "result", id, result} or {type: "result", id, error}:
//   emit {rooms, except, flags: {volatile, local, timeout}, event, args}  (ack when
//       flags.timeout: result = responses); fetchSockets {rooms}; socketsJoin {rooms,
//       room}; socketsLeave {rooms, room}; disconnectSockets {rooms, close};
//   serverSideEmit {args, ack: bool}; serverCount; socketEmit {sid, event, args};
//   remoteEmit {sid, event, args} (through fetchSockets' RemoteSocket); close.
// Binary values travel as {"$bin": hex} both ways. Connections join auth.rooms and take
// auth.data as socket.data. A server-side "ping" event is answered with ["pong", arg].
"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const readline = require("readline");

const options = JSON.parse(process.argv[2] || "{}");

function out(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function encode(value) {
  if (value instanceof Uint8Array) return { $bin: Buffer.from(value).toString("hex") };
  if (value instanceof Error) return { $error: value.message };
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

async function makeAdapter() {
  const adapterOptions = options.adapterOptions || {};
  if (options.adapter === "memory") return { adapter: undefined, clients: [] };
  if (options.adapter === "sharded") {
    const { createShardedAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ url: options.redisUrl });
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on("error", (err) => out({ type: "redisError", message: String(err) }));
    await Promise.all([pub.connect(), sub.connect()]);
    return { adapter: createShardedAdapter(pub, sub, adapterOptions), clients: [pub, sub] };
  }
  if (options.adapter === "streams") {
    const { createAdapter } = require("@socket.io/redis-streams-adapter");
    const client = createClient({ url: options.redisUrl });
    client.on("error", (err) => out({ type: "redisError", message: String(err) }));
    await client.connect();
    return { adapter: createAdapter(client, adapterOptions), clients: [client] };
  }
  throw new Error("unknown adapter " + options.adapter);
}

function operator(nsp, cmd) {
  let op = nsp;
  if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  const flags = cmd.flags || {};
  if (flags.volatile) op = op.volatile;
  if (flags.local) op = op.local;
  if (flags.timeout !== undefined) op = op.timeout(flags.timeout);
  return op;
}

async function run(io, cmd) {
  const nsp = io.of(cmd.nsp || "/");
  switch (cmd.op) {
    case "emit": {
      const args = decode(cmd.args || []);
      if ((cmd.flags || {}).timeout !== undefined) {
        return await new Promise((resolve) => {
          operator(nsp, cmd).emit(cmd.event, ...args, (err, responses) =>
            resolve({ err: err ? err.message : null, responses: encode(responses) }));
        });
      }
      operator(nsp, cmd).emit(cmd.event, ...args);
      return true;
    }
    case "fetchSockets": {
      const sockets = await operator(nsp, cmd).fetchSockets();
      return sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: encode(s.data),
        handshake: encode(s.handshake), local: typeof s.conn === "object" && !!s.conn }));
    }
    case "socketsJoin": operator(nsp, cmd).socketsJoin(cmd.room); return true;
    case "socketsLeave": operator(nsp, cmd).socketsLeave(cmd.room); return true;
    case "disconnectSockets": operator(nsp, cmd).disconnectSockets(!!cmd.close); return true;
    case "serverSideEmit": {
      const args = decode(cmd.args || []);
      if (cmd.ack) {
        return await new Promise((resolve) => {
          nsp.serverSideEmit(...args, (err, responses) =>
            resolve({ err: err ? err.message : null, responses: encode(responses) }));
        });
      }
      nsp.serverSideEmit(...args);
      return true;
    }
    case "serverCount": return await nsp.adapter.serverCount();
    case "socketEmit": {
      const socket = nsp.sockets.get(cmd.sid);
      if (!socket) throw new Error("no such socket");
      socket.emit(cmd.event, ...decode(cmd.args || []));
      return true;
    }
    case "remoteEmit": {
      const sockets = await nsp.in(cmd.sid).fetchSockets();
      if (!sockets.length) throw new Error("no such socket");
      if (cmd.timeout !== undefined) {
        const reply = await sockets[0].timeout(cmd.timeout).emitWithAck(cmd.event, ...decode(cmd.args || []));
        return encode(reply);
      }
      sockets[0].emit(cmd.event, ...decode(cmd.args || []));
      return true;
    }
    case "close": {
      await new Promise((resolve) => io.close(resolve));
      return true;
    }
    default:
      throw new Error("unknown op " + cmd.op);
  }
}

async function main() {
  const { adapter, clients } = await makeAdapter();
  const serverOptions = adapter ? { adapter } : {};
  if (options.recovery) serverOptions.connectionStateRecovery = options.recovery;
  const httpServer = http.createServer();
  const io = new Server(httpServer, serverOptions);
  for (const name of options.namespaces || ["/"]) {
    const nsp = io.of(name);
    nsp.on("connection", (socket) => {
      const auth = socket.handshake.auth || {};
      if (!socket.recovered) {
        if (auth.rooms) socket.join(auth.rooms);
        if (auth.data) socket.data = auth.data;
      }
      out({ type: "connection", nsp: name, id: socket.id, recovered: socket.recovered,
        rooms: [...socket.rooms], data: socket.data });
      socket.on("disconnect", (reason) => out({ type: "disconnect", nsp: name, id: socket.id, reason }));
    });
    nsp.on("ping", (arg, cb) => {
      out({ type: "serverSide", nsp: name, args: encode(["ping", arg]) });
      if (typeof cb === "function") cb(["pong", arg]);
    });
    nsp.on("note", (...args) => out({ type: "serverSide", nsp: name, args: encode(["note", ...args]) }));
  }
  httpServer.listen(0, "127.0.0.1", () => {
    out({ port: httpServer.address().port, uid: io.of("/").adapter.uid || null });
  });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    let cmd;
    try { cmd = JSON.parse(line); } catch { return; }
    try {
      out({ type: "result", id: cmd.id, result: await run(io, cmd) });
    } catch (err) {
      out({ type: "result", id: cmd.id, error: err.message });
    }
    if (cmd.op === "close") {
      await Promise.allSettled(clients.map((c) => c.quit()));
      process.exit(0);
    }
  });
  rl.on("close", () => process.exit(0));
}

main().catch((err) => { out({ type: "fatal", message: String(err && err.stack || err) }); process.exit(1); });
