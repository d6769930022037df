'use strict';
// A minimal, independent Gadget relay: protocol v1.1 (the team's shared/protocol.md).
// Socket.IO for IDEs ("code") and drones, MongoDB for the data, an HTTP API beside them.

const http = require('node:http');
const { Server } = require('socket.io');
const { MongoClient, ObjectId } = require('mongodb');
const sessions = require('./sessions');
const { createHandler } = require('./http-api');
const { HEX24, sha256hex, safeEqual, hex, ok, refusal, validate, accepted, askDrone,
  enqueue, drainLanes } = require('./util');

const env = process.env;
const config = {
  host: env.RELAY_HOST || '127.0.0.1',
  port: Number(env.RELAY_PORT ?? 3000),
  dbUrl: env.DB_URL || 'mongodb://127.0.0.1:27017',
  dbName: env.DB_NAME || 'gadget',
  debugToken: env.DEBUG_TOKEN || '',
  droneAckMs: Number(env.DRONE_ACK_MS || 5000),
  terminationAckMs: Number(env.TERMINATION_ACK_MS || 5000),
  terminationPollMs: Number(env.TERMINATION_POLL_MS || 10000),
  pingIntervalMs: Number(env.PING_INTERVAL_MS || 25000), // socket.io's defaults
  pingTimeoutMs: Number(env.PING_TIMEOUT_MS || 20000),
};

const log = (...args) => console.error(new Date().toISOString(), ...args);

const client = new MongoClient(config.dbUrl, { serverSelectionTimeoutMS: 3000 });
const db = client.db(config.dbName);
const users = db.collection('users');
const chatSessions = db.collection('chatSessions');
const registrations = db.collection('droneRegistrations');
const workOrders = db.collection('workOrders');

// Lock requests waiting for their drone's ack: registration id -> chat session id.
// Section 4 (v1.1): a second request for the same drone meanwhile is refused drone-locked.
const pendingLocks = new Map();

const oid = (id) => new ObjectId(id);
const regLane = (registrationId) => `registration:${registrationId}`;

function toOwner(userId, event, payload) {
  for (const s of sessions.codeSessionsOfUser(userId)) s.socket.emit(event, payload);
}

// ---------------------------------------------------------------- authentication (3)

class AuthError extends Error {
  constructor(code, text) {
    super(code); // the connect_error message is the reason code itself
    this.data = { error: code, message: text };
  }
}

async function authenticate(socket) {
  const auth = socket.handshake.auth;
  if (!auth || typeof auth !== 'object' || Array.isArray(auth)) throw new AuthError('auth-invalid', 'no auth payload');
  if (typeof auth.token !== 'string' || auth.token === '') throw new AuthError('auth-invalid', 'token is required');
  if (auth.type === 'code') {
    const user = await users.findOne({ apiTokenHash: sha256hex(auth.token) });
    if (!user) throw new AuthError('auth-denied', 'unknown API token');
    return { kind: 'code', userId: hex(user._id) };
  }
  if (auth.type === 'drone') {
    if (typeof auth.registrationId !== 'string' || !HEX24.test(auth.registrationId)) {
      throw new AuthError('auth-invalid', 'registrationId must be 24 hex digits');
    }
    const reg = await registrations.findOne({ _id: oid(auth.registrationId) });
    if (!reg) throw new AuthError('auth-unknown', 'no such drone registration');
    if (typeof reg.tokenHash !== 'string' || !safeEqual(sha256hex(auth.token), reg.tokenHash.toLowerCase())) {
      throw new AuthError('auth-denied', 'wrong drone token');
    }
    return { kind: 'drone', userId: hex(reg.user), registrationId: hex(reg._id) };
  }
  throw new AuthError('auth-invalid', "type must be 'code' or 'drone'");
}

// ---------------------------------------------------------------- helpers for events

/** Wraps a handler: payload is the first argument, the ack the last one if a function. */
function on(socket, event, handler) {
  socket.on(event, (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : () => {};
    handler(args[0], ack);
  });
}

/** Runs an IDE event; its result (an ok or a refusal) is the ack. */
function ideEvent(session, event, spec, run) {
  on(session.socket, event, async (payload, ack) => {
    const bad = validate(payload, spec, event);
    if (bad) return ack(bad);
    try {
      ack(await run(payload));
    } catch (err) {
      log(`${event} failed: ${err.stack || err}`);
      ack(refusal('internal-error', `${event}: the relay failed`));
    }
  });
}

/**
 * Reads the registration and the chat session an IDE names and checks them. Ownership
 * comes first: another user's drone or chat session is `forbidden` whatever its state
 * (section 11.1). Unknown ones get `missingCode`.
 */
async function loadOwned(session, registrationId, chatSessionId, missingCode) {
  const [reg, chat] = await Promise.all([
    registrations.findOne({ _id: oid(registrationId) }),
    chatSessions.findOne({ _id: oid(chatSessionId) }),
  ]);
  if ((reg && hex(reg.user) !== session.userId) || (chat && hex(chat.user) !== session.userId)) {
    return { error: refusal('forbidden', 'that drone or chat session belongs to another user') };
  }
  if (!reg) return { error: refusal(missingCode, 'no such drone registration') };
  if (!chat) return { error: refusal(missingCode, 'no such chat session') };
  return { reg, chat };
}

// ---------------------------------------------------------------- IDE -> relay (4)

function attachCode(session) {
  ideEvent(session, 'openChatSession', [['chatSessionId', 'id']], async ({ chatSessionId }) => {
    const chat = await chatSessions.findOne({ _id: oid(chatSessionId) });
    if (!chat) return refusal('not-found', 'no such chat session');
    if (hex(chat.user) !== session.userId) return refusal('forbidden', 'another user\'s chat session');
    if (!session.gone) sessions.openChat(session, hex(chat._id));
    return ok();
  });

  ideEvent(session, 'requestSessionLock', [['registrationId', 'id'], ['chatSessionId', 'id']], async (p) => {
    const found = await loadOwned(session, p.registrationId, p.chatSessionId, 'not-found');
    if (found.error) return found.error;
    const regId = hex(found.reg._id);
    const chatId = hex(found.chat._id);
    const drone = sessions.liveDrone(regId);
    if (!drone) return refusal('drone-offline', 'the drone is not connected');
    // No await between this check and the set below: only one request per drone may wait.
    if (pendingLocks.has(regId)) return refusal('drone-locked', 'another lock request for this drone is pending');
    pendingLocks.set(regId, chatId);
    try {
      const fresh = await registrations.findOne({ _id: found.reg._id });
      if (hex(fresh.lockedBy) === chatId) return ok(); // re-locking by the holder
      if (fresh.lockedBy) return refusal('drone-locked', 'the drone is locked by another chat session');
      const answer = await askDrone(drone, 'requestSessionLock',
        { chatSessionId: chatId, projectId: hex(found.chat.project) }, config.droneAckMs);
      if (answer.kind === 'gone') return refusal('drone-offline', 'the drone went away');
      if (answer.kind === 'timeout') return refusal('drone-timeout', 'the drone did not answer');
      if (!accepted(answer.value)) return refusal('drone-rejected', 'the drone refused the lock');
      // Only now, after the drone accepted, is the lock written (busy + lockedBy at once).
      const result = await registrations.updateOne(
        { _id: found.reg._id, lockedBy: null, status: { $ne: 'offline' } },
        { $set: { lockedBy: found.chat._id, status: 'busy' } });
      if (result.matchedCount === 0 || drone.gone) {
        return refusal('drone-offline', 'the drone went away before the lock was recorded');
      }
      toOwner(session.userId, 'droneStatus', { registrationId: regId, status: 'busy' });
      return ok();
    } finally {
      if (pendingLocks.get(regId) === chatId) pendingLocks.delete(regId);
    }
  });

  ideEvent(session, 'releaseSessionLock', [['registrationId', 'id'], ['chatSessionId', 'id']], async (p) => {
    // An unknown drone or chat session does not hold a lock: not-locked (section 4's codes).
    const found = await loadOwned(session, p.registrationId, p.chatSessionId, 'not-locked');
    if (found.error) return found.error;
    const regId = hex(found.reg._id);
    const drone = sessions.liveDrone(regId);
    const result = await registrations.updateOne({ _id: found.reg._id, lockedBy: found.chat._id },
      { $set: { lockedBy: null, status: drone ? 'online' : 'offline' } });
    if (result.matchedCount === 0) return refusal('not-locked', 'this chat session does not hold the lock');
    // The relay's record is authoritative: the drone is told, its ack is not awaited.
    if (drone) drone.socket.timeout(config.droneAckMs).emit('releaseSessionLock', { chatSessionId: hex(found.chat._id) }, () => {});
    toOwner(session.userId, 'droneStatus', { registrationId: regId, status: drone ? 'online' : 'offline' });
    return ok();
  });

  ideEvent(session, 'submitPrompt',
    [['registrationId', 'id'], ['chatSessionId', 'id'], ['prompt', 'string']], async (p) => {
      const found = await loadOwned(session, p.registrationId, p.chatSessionId, 'not-locked');
      if (found.error) return found.error;
      const { reg, chat } = found;
      if (hex(reg.lockedBy) !== hex(chat._id)) return refusal('not-locked', 'this chat session does not hold the lock');
      const drone = sessions.liveDrone(hex(reg._id));
      if (!drone) return refusal('drone-offline', 'the drone is not connected');
      const inserted = await workOrders.insertOne({ chatSession: chat._id, registration: reg._id,
        prompt: p.prompt, status: 'pending', createdAt: new Date(), completedAt: null });
      const workOrderId = hex(inserted.insertedId);
      const answer = await askDrone(drone, 'submitPrompt',
        { workOrderId, chatSessionId: hex(chat._id), prompt: p.prompt }, config.droneAckMs);
      if (answer.kind === 'ack' && accepted(answer.value)) {
        // Only a pending one: the drone may already have completed it.
        await workOrders.updateOne({ _id: inserted.insertedId, status: 'pending' }, { $set: { status: 'running' } });
        return ok({ workOrderId });
      }
      // A drone that went away: the disconnect cleanup aborts the work order.
      if (answer.kind === 'gone') return refusal('drone-offline', 'the drone went away');
      await workOrders.updateOne({ _id: inserted.insertedId, status: 'pending' },
        { $set: { status: 'failed', completedAt: new Date() } });
      return answer.kind === 'timeout'
        ? refusal('drone-timeout', 'the drone did not answer')
        : refusal('drone-rejected', 'the drone refused the prompt');
    });
}

// ---------------------------------------------------------------- drone -> relay (5)

const STREAM = {
  thinking: [['text', 'string']],
  response: [['text', 'string']],
  toolCall: [['toolCallId', 'string'], ['name', 'string'], ['arguments', 'any']],
};

function attachDrone(session) {
  const regId = session.registrationId;
  const protocolError = (event, error, message, ack) => {
    session.socket.emit('protocolError', { event, error, message });
    ack(refusal(error, message));
  };
  // Work orders already checked for this drone (id:chat), to spare a lookup per event.
  const known = new Set();

  /** Common checks of stream events and workOrderComplete: returns the chat id or null. */
  async function check(event, payload, spec, ack) {
    const bad = validate(payload, [['workOrderId', 'id'], ['chatSessionId', 'id'], ...spec], event);
    if (bad) return protocolError(event, bad.error, bad.message, ack), null;
    const chatId = hex(payload.chatSessionId);
    const reg = await registrations.findOne({ _id: oid(regId) }, { projection: { lockedBy: 1 } });
    if (!reg || hex(reg.lockedBy) !== chatId) {
      return protocolError(event, 'not-locked', `${event}: the drone is not locked by that chat session`, ack), null;
    }
    return chatId;
  }

  function forward(event, payload, chatId) {
    const message = { ...payload, registrationId: regId };
    for (const s of sessions.codeSessionsOfChat(chatId)) s.socket.emit(event, message);
  }

  for (const [event, spec] of Object.entries(STREAM)) {
    on(session.socket, event, (payload, ack) => enqueue(regLane(regId), async () => {
      const chatId = await check(event, payload, [['seq', 'seq'], ...spec], ack);
      if (!chatId) return;
      // Section 11.7, this relay's choice: a work order the relay does not know for this
      // drone and chat session is refused (protocolError not-found), never forwarded.
      const key = `${hex(payload.workOrderId)}:${chatId}`;
      if (!known.has(key)) {
        const wo = await workOrders.findOne({ _id: oid(payload.workOrderId), registration: oid(regId), chatSession: oid(chatId) });
        if (!wo) return protocolError(event, 'not-found', `${event}: unknown work order`, ack);
        known.add(key);
      }
      forward(event, payload, chatId);
      ack(ok());
    }));
  }

  on(session.socket, 'workOrderComplete', (payload, ack) => enqueue(regLane(regId), async () => {
    const event = 'workOrderComplete';
    const chatId = await check(event, payload, [['status', 'string'], ['summary', 'string']], ack);
    if (!chatId) return;
    if (payload.status !== 'complete' && payload.status !== 'failed') {
      return protocolError(event, 'invalid-payload', "status must be 'complete' or 'failed'", ack);
    }
    // Only an unfinished work order of this drone and chat session can be completed.
    const result = await workOrders.updateOne(
      { _id: oid(payload.workOrderId), registration: oid(regId), chatSession: oid(chatId),
        status: { $in: ['pending', 'running'] } },
      { $set: { status: payload.status, completedAt: new Date() } });
    if (result.matchedCount === 0) return protocolError(event, 'not-found', `${event}: no unfinished work order of that id`, ack);
    forward(event, payload, chatId);
    ack(ok());
  }));

  on(session.socket, 'requestCrashRecovery', (payload, ack) => enqueue(regLane(regId), async () => {
    // No fields; a payload, if the drone sends one, must still be an object (section 1).
    if (payload !== undefined && (payload === null || typeof payload !== 'object' || Array.isArray(payload))) {
      return ack(refusal('invalid-payload', 'requestCrashRecovery: the payload must be an object'));
    }
    const reg = await registrations.findOne({ _id: oid(regId) });
    if (!reg || !reg.lockedBy) {
      ack(ok({ chatSessionId: null, workOrder: null }));
      // Section 11.5, this relay's choice: tell the owner, with chatSessionId null.
      toOwner(session.userId, 'droneRecovered', { registrationId: regId, chatSessionId: null });
      return;
    }
    const chatId = hex(reg.lockedBy);
    const [wo] = await workOrders.find({ registration: reg._id, chatSession: reg.lockedBy,
      status: { $in: ['pending', 'running'] } }).sort({ createdAt: -1, _id: -1 }).limit(1).toArray();
    const workOrder = wo ? { id: hex(wo._id), chatSessionId: chatId, prompt: wo.prompt, status: wo.status } : null;
    ack(ok({ chatSessionId: chatId, workOrder }));
    toOwner(session.userId, 'droneRecovered', { registrationId: regId, chatSessionId: chatId });
  }));
}

// ---------------------------------------------------------------- connect / disconnect

/** A drone connected: online (busy if it holds a lock), lastSeenAt, droneStatus. */
async function droneConnected(session) {
  const _id = oid(session.registrationId);
  const now = new Date();
  // Two conditional updates keep `busy` for a drone that holds a lock, without a read
  // that a concurrent lock write could make stale.
  await registrations.updateOne({ _id, lockedBy: null }, { $set: { status: 'online', lastSeenAt: now } });
  await registrations.updateOne({ _id, lockedBy: { $ne: null } }, { $set: { status: 'busy', lastSeenAt: now } });
  const reg = await registrations.findOne({ _id }, { projection: { status: 1 } });
  toOwner(session.userId, 'droneStatus', { registrationId: session.registrationId, status: reg ? reg.status : 'online' });
}

/** A drone really disconnected (not a handover): offline, no lock, work orders aborted. */
async function droneGone(registrationId, userId) {
  const _id = oid(registrationId);
  const now = new Date();
  await registrations.updateOne({ _id }, { $set: { status: 'offline', lockedBy: null, lastSeenAt: now } });
  await workOrders.updateMany({ registration: _id, status: { $in: ['pending', 'running'] } },
    { $set: { status: 'aborted', completedAt: now } });
  toOwner(userId, 'droneStatus', { registrationId, status: 'offline' });
}

function onConnection(socket) {
  const who = socket.data.who;
  const session = sessions.create(socket, who.kind, who.userId, who.registrationId);
  if (who.kind === 'code') {
    sessions.addCode(session);
    attachCode(session);
  } else {
    // Newest connection wins: the new socket takes the index entry first, so the old
    // socket's disconnect below is a handover (no database writes, section 9).
    const replaced = sessions.addDrone(session);
    if (replaced) replaced.socket.disconnect(true);
    // Connect and disconnect writes of one registration run in its lane, in order; the
    // drone's own events queue behind its connect, so they see it online.
    enqueue(regLane(who.registrationId), () => droneConnected(session));
    attachDrone(session);
  }
  socket.on('disconnect', () => {
    const real = sessions.remove(session);
    if (real) enqueue(regLane(session.registrationId), () => droneGone(session.registrationId, session.userId));
  });
}

// ---------------------------------------------------------------- start and stop

const httpServer = http.createServer(createHandler({ db, config, pendingLocks }));
// Default path /socket.io, maxHttpBufferSize 1e6.
const io = new Server(httpServer, { pingInterval: config.pingIntervalMs,
  pingTimeout: config.pingTimeoutMs });

io.use((socket, next) => {
  authenticate(socket).then((who) => { socket.data.who = who; next(); }, (err) => {
    if (err instanceof AuthError) return next(err);
    log(`authentication failed: ${err.stack || err}`);
    const e = new Error('internal-error');
    e.data = { error: 'internal-error', message: 'the relay could not check the credentials' };
    next(e);
  });
});
io.on('connection', onConnection);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: disconnecting every client`);
  const force = setTimeout(() => process.exit(1), 10000);
  force.unref();
  io.disconnectSockets(true); // each drone's disconnect records it offline (its lane)
  await drainLanes();
  io.close();
  await client.close().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

httpServer.listen(config.port, config.host, () => {
  console.log(`listening on ${httpServer.address().port}`);
  log(`relay on http://${config.host}:${httpServer.address().port}, database ${config.dbName}`);
});
