'use strict';
// Small helpers shared by the relay's modules.

const crypto = require('node:crypto');

const HEX24 = /^[0-9a-fA-F]{24}$/;

const sha256hex = (text) => crypto.createHash('sha256').update(String(text), 'utf8').digest('hex');

/** Constant-time comparison of two strings of any length (compares their digests). */
function safeEqual(a, b) {
  const da = crypto.createHash('sha256').update(String(a), 'utf8').digest();
  const db = crypto.createHash('sha256').update(String(b), 'utf8').digest();
  return crypto.timingSafeEqual(da, db) && String(a).length === String(b).length;
}

/** An ObjectId (or id string) as a lower-case 24-hex string; null stays null. */
const hex = (id) => (id === null || id === undefined ? null : String(id).toLowerCase());

/** RFC 3339 with `Z` for BSON dates; strings (section 11.3 allows them) pass through. */
const rfc3339 = (value) => (value instanceof Date ? value.toISOString() : value ?? null);

const ok = (extra = {}) => ({ ok: true, ...extra });
const refusal = (error, message) => ({ ok: false, error, message });

/**
 * Checks an event's payload against a spec [[field, kind], ...], kind being 'id' (a 24-hex
 * string), 'string', 'seq' (an integer >= 0) or 'any'. Returns null when it is fine, else a
 * refusal. Fields are checked in order and the first problem wins (section 11.1: any one
 * applicable code): a missing field is invalid-payload, an id field holding anything but a
 * 24-hex string (a number, null, a list included) is invalid-id.
 */
function validate(payload, spec, event) {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    return refusal('invalid-payload', `${event}: the payload must be an object`);
  }
  for (const [field, kind] of spec) {
    const value = payload[field];
    if (value === undefined) return refusal('invalid-payload', `${event}: field '${field}' is required`);
    if (kind === 'id' && (typeof value !== 'string' || !HEX24.test(value))) {
      return refusal('invalid-id', `${event}: field '${field}' must be 24 hex digits`);
    }
    if (kind === 'string' && typeof value !== 'string') {
      return refusal('invalid-payload', `${event}: field '${field}' must be a string`);
    }
    if (kind === 'seq' && !(Number.isInteger(value) && value >= 0)) {
      return refusal('invalid-payload', `${event}: field '${field}' must be an integer >= 0`);
    }
  }
  return null;
}

/** A drone accepts with the ack `true` or `{ok: true}`; anything else refuses. */
const accepted = (value) => value === true || (value !== null && typeof value === 'object' && value.ok === true);

/**
 * Emits an event to a drone and waits for its ack. Resolves {kind: 'ack', value},
 * {kind: 'timeout'} or {kind: 'gone'} (the drone's socket left, or was replaced, first).
 */
function askDrone(session, event, payload, timeoutMs) {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      session.onGone.delete(onGone);
      resolve(result);
    };
    const onGone = () => finish({ kind: 'gone' });
    if (session.gone) return finish({ kind: 'gone' });
    session.onGone.add(onGone);
    session.socket.timeout(timeoutMs).emit(event, payload, (err, value) => {
      finish(err ? { kind: 'timeout' } : { kind: 'ack', value });
    });
  });
}

/**
 * Lanes run tasks one at a time per key, in the order they were queued. Socket.IO calls
 * event handlers synchronously in arrival order, so queueing from the handler keeps a
 * drone's events in FIFO order even though each task awaits the database.
 */
const lanes = new Map();
function enqueue(key, task) {
  const tail = (lanes.get(key) || Promise.resolve())
    .then(task)
    .catch((err) => console.error(`task on ${key} failed: ${err.stack || err}`));
  lanes.set(key, tail);
  tail.then(() => { if (lanes.get(key) === tail) lanes.delete(key); });
  return tail;
}
/** Resolves once every lane is empty (used at shutdown). */
async function drainLanes() {
  while (lanes.size) await Promise.allSettled([...lanes.values()]);
}

module.exports = { HEX24, sha256hex, safeEqual, hex, rfc3339, ok, refusal, validate,
  accepted, askDrone, enqueue, drainLanes };
