// The Node reference for the admin parity test: socket.io 4.8.4 instrumented by
// @socket.io/admin-ui 0.5.1, with the same small app the Python side runs
// (tests/admin/parity_app.py). Binds 127.0.0.1 port 0 and prints {"port": N} once
// listening. Env: ADMIN_HASH (bcrypt hash of the admin password), ADMIN_MODE
// ("development" | "production"), ADMIN_READONLY ("1"), SERVE_UI ("1": also serve the
// official ui/dist bundle at /ui/ so the browser test can be proven against Node).
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const { Server } = require("socket.io");
const { instrument } = require("@socket.io/admin-ui");

const UI_DIR = path.join(
  path.dirname(require.resolve("@socket.io/admin-ui/package.json")),
  "ui",
  "dist",
);
const TYPES = {
  ".html": "text/html",
  ".js": "application/javascript",
  ".css": "text/css",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
};

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (process.env.SERVE_UI === "1" && url.pathname.startsWith("/ui/")) {
    const rel = url.pathname.slice("/ui/".length) || "index.html";
    const file = path.normalize(path.join(UI_DIR, rel));
    if (!file.startsWith(UI_DIR)) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
      res.end(body);
    });
    return;
  }
  if (!url.pathname.startsWith("/socket.io")) res.writeHead(404).end();
});

const io = new Server(httpServer, { pingInterval: 25000, pingTimeout: 20000 });

// The app both servers run: a middleware sets data, the connection handler joins
// "lobby", and a few events drive rooms and data from the client side.
io.use((socket, next) => {
  socket.data.role = "guest";
  next();
});
io.on("connection", (socket) => {
  socket.join("lobby");
  socket.on("hello", (msg, ack) => {
    socket.emit("welcome", { to: msg, n: 42 });
    if (typeof ack === "function") ack("ok");
  });
  socket.on("set", (key, value) => {
    socket.data[key] = value;
  });
  socket.on("join", (room) => socket.join(room));
  socket.on("leave", (room) => socket.leave(room));
});

instrument(io, {
  auth: { type: "basic", username: "admin", password: process.env.ADMIN_HASH },
  mode: process.env.ADMIN_MODE || "development",
  readonly: process.env.ADMIN_READONLY === "1",
  serverId: "parity",
});

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + "\n");
});
process.stdin.on("end", () => process.exit(0)); // the test closes stdin to stop us
process.stdin.resume();
