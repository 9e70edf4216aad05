// notepack.io 3.0.1 (the msgpack codec of @socket.io/redis-adapter) as a reference for
// the Python codec's byte tests. JSON-line commands (see jsonlines.js):
//
//   encode {value}  -> hex of notepack.encode(value)
//   decode {hex}    -> notepack.decode(bytes), binary as {"$bin"}, Date as {"$date": ms}
//
// In `value`, {"$date": ms} is a Date, {"$float": x} the number x (so 1.5 and 2 stay
// what JSON says), {"$undef": true} undefined. First stdout line: {"port": null}.
"use strict";
const notepack = require("notepack.io");
const { encode, out, serve } = require("./jsonlines");

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    if ("$date" in value) return new Date(value.$date);
    if ("$float" in value) return value.$float;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

function dates(value) {
  if (value instanceof Date) return { $date: value.getTime() };
  if (Array.isArray(value)) return value.map(dates);
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dates(v)]));
  }
  return value;
}

serve({
  encode: (cmd) => notepack.encode(revive(cmd.value)).toString("hex"),
  decode: (cmd) => encode(dates(notepack.decode(Buffer.from(cmd.hex, "hex")))),
});
out({ port: null });
