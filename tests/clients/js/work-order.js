// A real IDE and a real drone (socket.io-client, as the browser IDE and the Node drones run
// it) doing one whole work order and a termination, for the recorder's proof
// (tests/integration/test_record_replay.py). Usage: node work-order.js '<json>' where json is
//   {"url": "http://127.0.0.1:8081",                          (the recorder, or the relay)
//    "ide": {"token": "...", "chatSessionId": "...", "transports": ["polling", "websocket"]},
//    "drone": {"registrationId": "...", "token": "...", "transports": ["websocket"]}}
// The drone acks the lock and the prompt, streams thinking, toolCall, thinking, response
// and workOrderComplete, and accepts termination (then exits: it disconnects). The IDE
// opens its chat session, locks the drone, submits a prompt, reads the stream to its end,
// terminates the drone over HTTP and waits for its droneStatus offline, then leaves.
// Every step is one JSON line on stdout; the last is {"event": "done"} (exit 0) or
// {"event": "failed", "why": ...} (exit 1).
"use strict";

const { io } = require("socket.io-client");

const config = JSON.parse(process.argv[2]);
const started = Date.now();
const STEP_TIMEOUT_MS = 10000;

function write(record) {
  process.stdout.write(JSON.stringify({ t: Date.now() - started, ...record }) + "\n");
}

function fail(why) {
  write({ event: "failed", why });
  process.exit(1);
}

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing in ${STEP_TIMEOUT_MS} ms`)),
      STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function connect(name, auth, transports) {
  const socket = io(config.url, { auth, transports, forceNew: true, reconnection: false });
  socket.onAny((event, payload) => write({ client: name, event: "message", name: event, payload }));
  socket.on("disconnect", (reason) => write({ client: name, event: "disconnect", reason }));
  return within(new Promise((resolve, reject) => {
    socket.on("connect", () => {
      write({ client: name, event: "connect", sid: socket.id });
      resolve(socket);
    });
    socket.on("connect_error", (error) => reject(new Error(`${name}: ${error.message}`)));
  }), `${name} connecting`);
}

function request(socket, event, payload) {
  return within(socket.emitWithAck(event, payload), `the ack of ${event}`).then((ack) => {
    write({ client: "ide", event: "ack", name: event, ack });
    if (!ack || ack.ok !== true) throw new Error(`${event} answered ${JSON.stringify(ack)}`);
    return ack;
  });
}

function waitFor(socket, event, test) {
  return within(new Promise((resolve) => {
    const listener = (payload) => {
      if (test(payload)) {
        socket.off(event, listener);
        resolve(payload);
      }
    };
    socket.on(event, listener);
  }), `waiting for ${event}`);
}

function droneAnswers(drone, chatSessionId) {
  const registrationId = config.drone.registrationId;
  drone.on("requestSessionLock", (payload, ack) => ack(true));
  drone.on("releaseSessionLock", (payload, ack) => ack && ack(true));
  drone.on("submitPrompt", (payload, ack) => {
    ack(true);
    const base = { workOrderId: payload.workOrderId, chatSessionId: payload.chatSessionId };
    const stream = [
      ["thinking", { text: "reading the project" }],
      ["toolCall", { toolCallId: "call-1", name: "readFile", arguments: { path: "README.md" } }],
      ["thinking", { text: "writing the answer" }],
      ["response", { text: `an answer to: ${payload.prompt}` }],
      ["workOrderComplete", { status: "complete", summary: "done" }],
    ];
    stream.forEach(([event, fields], seq) => drone.emit(event, { ...base, seq, ...fields }));
  });
  drone.on("requestTermination", (payload, ack) => {
    ack(true);
    setTimeout(() => drone.disconnect(), 20); // a drone that accepts exits
  });
  return { registrationId, chatSessionId };
}

async function main() {
  const chatSessionId = config.ide.chatSessionId;
  const registrationId = config.drone.registrationId;
  const drone = await connect("drone",
    { type: "drone", registrationId, token: config.drone.token }, config.drone.transports);
  droneAnswers(drone, chatSessionId);
  const ide = await connect("ide", { type: "code", token: config.ide.token },
    config.ide.transports);
  await request(ide, "openChatSession", { chatSessionId });
  await request(ide, "requestSessionLock", { registrationId, chatSessionId });
  const complete = waitFor(ide, "workOrderComplete", () => true);
  const ack = await request(ide, "submitPrompt",
    { registrationId, chatSessionId, prompt: "explain the README" });
  const done = await complete;
  if (done.workOrderId !== ack.workOrderId) fail(`workOrderComplete of ${done.workOrderId}`);
  const offline = waitFor(ide, "droneStatus",
    (p) => p && p.registrationId === registrationId && p.status === "offline");
  const answer = await within(fetch(
    `${config.url}/api/v1/drone/registration/${registrationId}/terminate`,
    { method: "POST", headers: { Authorization: `Bearer ${config.ide.token}` } }),
  "the termination's answer");
  const body = await answer.json();
  write({ client: "ide", event: "http", status: answer.status, body });
  if (answer.status !== 200) fail(`terminate answered ${answer.status}`);
  await offline;
  ide.disconnect();
  write({ event: "done" });
  setTimeout(() => process.exit(0), 50);
}

main().catch((error) => fail(error.message));
