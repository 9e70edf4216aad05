// Drives npm engine.io-client 6.6.8 (a real peer) against a server URL from argv.
// Usage: node engine-client.js <url> <transports comma-separated> [count] [eager]
// With "eager", half the messages go out as soon as the session opens (so they and
// their echoes cross the polling-to-websocket upgrade in flight), half after it.
// Sends text and binary messages, waits for their echoes, prints one JSON line with
// what it saw (echoes with their types, transport names, upgrade), then closes.
"use strict";
const { Socket } = require("engine.io-client");

const [url, transportsArg, countArg, mode] = process.argv.slice(2);
const transports = (transportsArg || "polling,websocket").split(",");
const count = Number(countArg || 3);
const deadline = setTimeout(() => {
  console.log(JSON.stringify({ error: "timeout" }));
  process.exit(2);
}, 8000);

const socket = new Socket(url, { transports, path: "/engine.io/" });
const sent = [];
for (let i = 0; i < count; i++) {
  sent.push(`text-${i}-✓`);
  sent.push(Buffer.from([i, 0, 255, 128]));
}
const echoes = [];
const report = { transports: [], upgraded: null, sid: null };

socket.on("open", () => {
  report.sid = socket.id;
  report.transports.push(socket.transport.name);
  const sendRange = (from, to) => () => {
    for (const data of sent.slice(from, to)) socket.send(data);
  };
  const half = mode === "eager" ? sent.length / 2 : 0;
  sendRange(0, half)();
  // With polling first, wait for the upgrade so both directions cross the websocket too.
  if (transports.length > 1) socket.once("upgrade", sendRange(half, sent.length));
  else sendRange(half, sent.length)();
});
socket.on("upgrade", (transport) => {
  report.upgraded = transport.name;
  report.transports.push(transport.name);
});
socket.on("message", (data) => {
  const binary = typeof data !== "string";
  echoes.push(binary ? { b: Buffer.from(data).toString("hex") } : { t: data });
  if (echoes.length === sent.length) {
    const expected = sent.map((d) =>
      typeof d === "string" ? { t: d } : { b: d.toString("hex") }
    );
    report.echoesMatch = JSON.stringify(expected) === JSON.stringify(echoes);
    report.echoes = echoes;
    report.finalTransport = socket.transport.name;
    socket.close();
  }
});
socket.on("close", (reason) => {
  report.closeReason = reason;
  clearTimeout(deadline);
  console.log(JSON.stringify(report));
});
socket.on("error", (err) => {
  console.log(JSON.stringify({ error: String(err) }));
  process.exit(1);
});
