// Real socket.io-client instances, as the IDE and the drones run them, for the harness's
// fidelity tests. Usage: node clients.js '<json>' where json is
//   {"url": "http://127.0.0.1:8080",
//    "clients": [{"name": "ide1", "auth": {...}, "transports": ["polling", "websocket"],
//                 "url": "http://127.0.0.1:9090"}],     (url: this client's own; optional)
//    "options": {"reconnectionDelay": 100, ...}}
// Each client's life is written to stdout as one JSON line per event:
//   {"t": <ms since start>, "client": "ide1", "event": "connect", "sid": "..."}
//   {"t": ..., "client": "ide1", "event": "disconnect", "reason": "transport close",
//    "active": true}              (active: socket.io-client will reconnect by itself)
//   {"t": ..., "client": "ide1", "event": "connect_error", "message": "auth-denied"}
//   {"t": ..., "client": "ide1", "event": "reconnect_attempt", "attempt": 1}
//   {"t": ..., "client": "ide1", "event": "reconnect", "attempt": 1}
//   {"t": ..., "client": "ide1", "event": "reconnect_failed"}
// and every other event the relay sends as {"event": "message", "name": ..., "payload": ...}.
// Commands, one JSON object a line on stdin:
//   {"cmd": "emit", "client": "ide1", "id": 7, "name": "openChatSession", "payload": {...},
//    "ack": true, "volatile": false}
//     writes {"event": "emit", "id": 7, "name": ..., "connected": <at the emit>} at once,
//     then {"event": "ack", "id": 7, "name": ..., "args": [...]} when its ack arrives.
// It runs until stdin closes (the test ends), then closes every client and exits.
"use strict";

const readline = require("readline");
const { io } = require("socket.io-client");

const config = JSON.parse(process.argv[2]);
const started = Date.now();

function write(record) {
  process.stdout.write(JSON.stringify({ t: Date.now() - started, ...record }) + "\n");
}

const sockets = new Map();
for (const spec of config.clients) {
  const socket = io(spec.url || config.url, {
    auth: spec.auth,
    transports: spec.transports || ["polling", "websocket"],
    forceNew: true,
    ...(config.options || {}),
  });
  const client = spec.name;
  socket.on("connect", () => write({ client, event: "connect", sid: socket.id }));
  socket.on("disconnect", (reason) =>
    write({ client, event: "disconnect", reason, active: socket.active }));
  socket.on("connect_error", (error) =>
    write({ client, event: "connect_error", message: error.message }));
  socket.io.on("reconnect_attempt", (attempt) =>
    write({ client, event: "reconnect_attempt", attempt }));
  socket.io.on("reconnect", (attempt) => write({ client, event: "reconnect", attempt }));
  socket.io.on("reconnect_failed", () => write({ client, event: "reconnect_failed" }));
  socket.onAny((name, payload) => write({ client, event: "message", name, payload }));
  sockets.set(client, socket);
}

function run(command) {
  const socket = sockets.get(command.client);
  if (command.cmd !== "emit" || !socket) {
    write({ client: command.client || null, event: "bad_command", command });
    return;
  }
  const target = command.volatile ? socket.volatile : socket;
  const args = [command.name, command.payload];
  if (command.ack) {
    args.push((...ackArgs) =>
      write({ client: command.client, event: "ack", id: command.id, name: command.name,
              args: ackArgs }));
  }
  write({ client: command.client, event: "emit", id: command.id, name: command.name,
          connected: socket.connected });
  target.emit(...args);
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim()) run(JSON.parse(line));
});
process.stdin.on("end", () => {
  for (const socket of sockets.values()) socket.close();
  process.exit(0);
});
