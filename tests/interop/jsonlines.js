// JSON-line plumbing shared by the cluster peers (cluster-node-server.js,
// cluster-clients.js): one JSON object per stdout line, commands as JSON lines on stdin.
//
// A command is {"id": N, "op": "...", ...}; its answer is {"id": N, "result": ...} or
// {"id": N, "error": "<message>"}. Lines without "id" are unsolicited observations.
// Binary values travel as {"$bin": "<hex>"} both ways; `undefined` as {"$undef": true}
// (JSON would drop it, and the tests compare it with null). Stdin closing exits.
"use strict";

function out(record) {
  process.stdout.write(JSON.stringify(record) + "\n");
}

function encode(value) {
  if (value === undefined) return { $undef: true };
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  if (value instanceof Error) return { $error: value.message };
  if (Array.isArray(value)) return value.map(encode);
  if (value instanceof Set) return [...value].map(encode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value;
}

function decode(value) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    if ("$bin" in value) return Buffer.from(value.$bin, "hex");
    if ("$undef" in value) return undefined;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  if (Array.isArray(value)) return value.map(decode);
  return value;
}

// Run `handlers[cmd.op](cmd)` for each stdin line, in order; answer with its result
// (awaited) or its error message.
function serve(handlers) {
  let buffered = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.trim()) handle(JSON.parse(line));
    }
  });
  process.stdin.on("end", () => process.exit(0));

  async function handle(cmd) {
    const handler = handlers[cmd.op];
    try {
      if (!handler) throw new Error(`unknown op ${cmd.op}`);
      const result = await handler(decode(cmd));
      out({ id: cmd.id, result: encode(result === undefined ? null : result) });
    } catch (err) {
      out({ id: cmd.id, error: err && err.message ? err.message : String(err) });
    }
  }
}

module.exports = { decode, encode, out, serve };
