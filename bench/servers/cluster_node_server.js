// Node's socket.io 4.8 on a real npm Redis adapter, as a member of a two-server bench
// cluster: the reference of bench/cluster_redis.py. $CLUSTER_ADAPTER picks it: "classic"
// (default, @socket.io/redis-adapter 8.3 createAdapter), "sharded" (its
// createShardedAdapter) or "streams" (@socket.io/redis-streams-adapter 0.3.1). Every socket joins "all"; a
// "broadcast" event is re-broadcast to "all"; "fetch" answers how many sockets
// fetchSockets() found in the cluster. The Redis is $REDIS_URL. Prints
// {"port": N, "pid": P} once listening on 127.0.0.1 with its subscriptions confirmed.
"use strict";
const path = require("path");
const http = require("http");
const { createRequire } = require("module");

const interop = createRequire(path.join(__dirname, "..", "..", "tests", "interop", "package.json"));
const { Server } = interop("socket.io");
const { createClient } = interop("redis");
const { createAdapter, createShardedAdapter } = interop("@socket.io/redis-adapter");

async function makeAdapter(kind) {
  const pub = createClient({ url: process.env.REDIS_URL });
  if (kind === "streams") {
    await pub.connect();
    return interop("@socket.io/redis-streams-adapter").createAdapter(pub);
  }
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  return kind === "sharded" ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
}

async function main() {
  const adapter = await makeAdapter(process.env.CLUSTER_ADAPTER || "classic");
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter,
    pingInterval: 25000,
    pingTimeout: 20000,
    perMessageDeflate: false,
    serveClient: false,
  });
  io.on("connection", (socket) => {
    socket.join("all");
    socket.on("broadcast", (payload) => io.to("all").emit("broadcast", payload));
    socket.on("fetch", async (ack) => ack((await io.fetchSockets()).length));
  });
  while ((await io.of("/").adapter.serverCount()) < 1) {
    await new Promise((r) => setTimeout(r, 10)); // until our own subscription counts
  }
  httpServer.listen(0, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ port: httpServer.address().port, pid: process.pid }) + "\n");
  });
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(String(err.stack || err) + "\n");
  process.exit(1);
});
