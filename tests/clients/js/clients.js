// Real socket.io-client instances, as the IDE and the drones run them, for the harness's
// fidelity tests. Usage: node clients.js '<json>' where json is
//   {"url": "http://127.0.0.1:8080",
//    "clients": [{"name": "ide1", "auth": {...}, "transports": ["polling", "websocket"]}],
//    "options": {"reconnectionDelay": 100, ...}}
// Each client's life is written to stdout as one JSON line per event:
//   {"t": <ms since start>, "client": "ide1", "event": "connect", "sid": "..."}
//   {"t": ..., "client": "ide1", "event": "disconnect", "reason": "transport close"}
//   {"t": ..., "client": "ide1", "event": "connect_error", "message": "auth-denied"}
// and every other event the relay sends as {"event": "message", "name": ..., "payload": ...}.
// It runs until stdin closes (the test ends), then closes every client and exits.
"use strict";

const { io } = require("socket.io-client");

const config = JSON.parse(process.argv[2]);
const started = Date.now();

function write(record) {
  process.stdout.write(JSON.stringify({ t: Date.now() - started, ...record }) + "\n");
}

const sockets = config.clients.map((spec) => {
  const socket = io(config.url, {
    auth: spec.auth,
    transports: spec.transports || ["polling", "websocket"],
    forceNew: true,
    ...(config.options || {}),
  });
  socket.on("connect", () => write({ client: spec.name, event: "connect", sid: socket.id }));
  socket.on("disconnect", (reason) => write({ client: spec.name, event: "disconnect", reason }));
  socket.on("connect_error", (error) =>
    write({ client: spec.name, event: "connect_error", message: error.message }));
  socket.onAny((name, payload) =>
    write({ client: spec.name, event: "message", name, payload }));
  return socket;
});

process.stdin.resume();
process.stdin.on("end", () => {
  for (const socket of sockets) socket.close();
  process.exit(0);
});
