// The admin parity scenario, run unchanged against the Node reference server and
// against ours: an admin client records every payload the admin namespace sends while a
// user client connects, emits, joins, leaves and is disconnected by an admin command.
// Each step waits (bounded) for the admin event it causes, so the recorded order is the
// server's, not a race. Prints one JSON line per admin payload ({"ev", "args"}), then
// {"done": true}; on failure {"error": ...} and exit code 1.
//
// usage: node admin-scenario.js URL USERNAME PASSWORD
"use strict";
const { io } = require("socket.io-client");

const [url, username, password] = process.argv.slice(2);
const STEP_TIMEOUT_MS = 5000;
const recorded = [];
const waiters = [];

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function record(ev, args) {
  recorded.push({ ev, args });
  for (const w of [...waiters]) {
    if (w.pred(ev, args)) {
      waiters.splice(waiters.indexOf(w), 1);
      clearTimeout(w.timer);
      w.resolve(args);
    }
  }
}

function waitFor(label, pred, since = 0) {
  for (let i = since; i < recorded.length; i++) {
    if (pred(recorded[i].ev, recorded[i].args)) return Promise.resolve(recorded[i].args);
  }
  return new Promise((resolve, reject) => {
    const w = { pred, resolve };
    w.timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      reject(new Error(`timeout waiting for ${label}`));
    }, STEP_TIMEOUT_MS);
    waiters.push(w);
  });
}

function once(emitter, ev) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for client ${ev}`)), STEP_TIMEOUT_MS);
    emitter.once(ev, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function main() {
  // A user already there when the admin logs in: it must show in all_sockets.
  const early = io(url + "/", { forceNew: true, reconnection: false, transports: ["websocket"] });
  await once(early, "connect");
  const earlySid = early.id;

  const admin = io(url + "/admin", {
    auth: { username, password },
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
  });
  admin.onAny((ev, ...args) => record(ev, args));
  admin.on("connect_error", (err) => out({ error: "admin connect_error: " + err.message }));
  await waitFor("config", (ev) => ev === "config");
  await waitFor("all_sockets", (ev) => ev === "all_sockets");

  let mark = recorded.length;
  const user = io(url + "/", { forceNew: true, reconnection: false, query: { app: "parity" } });
  await once(user, "connect");
  const sid = user.id;
  const isMine = (args) => args.includes(sid);
  await waitFor("socket_connected", (ev, a) => ev === "socket_connected" && a[0].id === sid, mark);
  await waitFor("room_joined lobby", (ev, a) => ev === "room_joined" && a[1] === "lobby", mark);
  await waitFor(
    "socket_updated transport",
    (ev, a) => ev === "socket_updated" && a[0].id === sid && a[0].transport === "websocket",
    mark,
  );

  mark = recorded.length;
  const reply = await user.timeout(STEP_TIMEOUT_MS).emitWithAck("hello", "world");
  if (reply !== "ok") throw new Error("unexpected ack " + JSON.stringify(reply));
  await waitFor("event_sent welcome", (ev, a) => ev === "event_sent" && a[2][0] === "welcome", mark);

  mark = recorded.length;
  user.emit("set", "score", 1);
  await waitFor("socket_updated data", (ev, a) => ev === "socket_updated" && a[0].data, mark);

  mark = recorded.length;
  user.emit("join", "vip");
  await waitFor("room_joined vip", (ev, a) => ev === "room_joined" && a[1] === "vip", mark);
  mark = recorded.length;
  user.emit("leave", "vip");
  await waitFor("room_left vip", (ev, a) => ev === "room_left" && a[1] === "vip", mark);

  // The official commands, each aimed at the user's socket by its own-id room.
  mark = recorded.length;
  admin.emit("join", "/", "room2", sid);
  await waitFor("room_joined room2", (ev, a) => ev === "room_joined" && a[1] === "room2", mark);
  mark = recorded.length;
  const got = once(user, "from-admin");
  admin.emit("emit", "/", sid, "from-admin", { x: 1 });
  const [payload] = await got;
  if (payload.x !== 1) throw new Error("bad emit payload " + JSON.stringify(payload));
  await waitFor("event_sent from-admin", (ev, a) => ev === "event_sent" && a[2][0] === "from-admin", mark);
  mark = recorded.length;
  admin.emit("leave", "/", "room2", sid);
  await waitFor("room_left room2", (ev, a) => ev === "room_left" && a[1] === "room2", mark);

  mark = recorded.length;
  const gone = once(user, "disconnect");
  admin.emit("_disconnect", "/", false, sid);
  const [reason] = await gone;
  if (reason !== "io server disconnect") throw new Error("unexpected reason " + reason);
  await waitFor("socket_disconnected", (ev, a) => ev === "socket_disconnected" && isMine(a), mark);
  await waitFor("room_left lobby", (ev, a) => ev === "room_left" && a[1] === "lobby" && isMine(a), mark);
  await waitFor("room_left own", (ev, a) => ev === "room_left" && a[1] === sid, mark);

  // A client-side disconnect of the early user.
  mark = recorded.length;
  early.disconnect();
  await waitFor(
    "socket_disconnected early",
    (ev, a) => ev === "socket_disconnected" && a[1] === earlySid,
    mark,
  );
  await waitFor("room_left early lobby", (ev, a) => ev === "room_left" && a[2] === earlySid && a[1] === "lobby", mark);
  await waitFor("room_left early own", (ev, a) => ev === "room_left" && a[1] === earlySid, mark);

  // One server_stats after everything, so the stats shape is compared too.
  mark = recorded.length;
  await waitFor("server_stats", (ev) => ev === "server_stats", mark);

  for (const r of recorded) out(r);
  out({ done: true });
  admin.close();
  process.exit(0);
}

main().catch((err) => {
  for (const r of recorded) out(r);
  out({ error: String(err && err.message ? err.message : err) });
  process.exit(1);
});
