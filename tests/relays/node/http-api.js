'use strict';
// The HTTP JSON API (contract section 8) and the introspection endpoint (section 10).
// Socket.IO serves /socket.io on the same server; every other request comes here.

const { ObjectId } = require('mongodb');
const sessions = require('./sessions');
const { HEX24, sha256hex, safeEqual, hex, rfc3339, askDrone, accepted } = require('./util');

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const fail = (res, status, error, message) => send(res, status, { ok: false, error, message });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The registration as the API shows it: no hashes, ids as 24-hex strings, RFC 3339 dates. */
function publicRegistration(reg) {
  return { id: hex(reg._id), user: hex(reg.user), hostname: reg.hostname, status: reg.status,
    lockedBy: hex(reg.lockedBy), lastSeenAt: rfc3339(reg.lastSeenAt), createdAt: rfc3339(reg.createdAt) };
}

function createHandler({ db, config, pendingLocks }) {
  const users = db.collection('users');
  const registrations = db.collection('droneRegistrations');

  /** The user whose API token is the bearer token, or null. */
  async function bearerUser(req) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization || '');
    if (!match) return null;
    return users.findOne({ apiTokenHash: sha256hex(match[1]) });
  }

  async function healthz(res) {
    try {
      await db.command({ ping: 1 });
      send(res, 200, { ok: true });
    } catch (err) {
      fail(res, 503, 'database-unavailable', `the database does not answer: ${err.message}`);
    }
  }

  function debugSessions(req, res) {
    if (!config.debugToken) return fail(res, 404, 'not-found', 'introspection is not enabled');
    const given = req.headers['x-admin-token'];
    if (!given) return fail(res, 401, 'unauthorized', 'X-Admin-Token is required');
    if (!safeEqual(given, config.debugToken)) return fail(res, 403, 'forbidden', 'wrong admin token');
    send(res, 200, { ok: true, maps: sessions.snapshot({ pendingLocks }) });
  }

  // GET /api/v1/drone/registration/:id and POST .../terminate share the first checks:
  // 401 without a user, 400 for a malformed id, 404 unknown, 403 another user's drone.
  async function registrationFor(req, res, id) {
    const user = await bearerUser(req);
    if (!user) return fail(res, 401, 'unauthorized', 'a valid bearer token is required');
    if (!HEX24.test(id)) return fail(res, 400, 'invalid-id', 'the id must be 24 hex digits');
    const reg = await registrations.findOne({ _id: new ObjectId(id) });
    if (!reg) return fail(res, 404, 'not-found', 'no such drone registration');
    if (hex(reg.user) !== hex(user._id)) return fail(res, 403, 'forbidden', 'not your drone');
    return reg;
  }

  async function terminate(req, res, id) {
    const reg = await registrationFor(req, res, id);
    if (!reg) return;
    if (reg.status === 'offline') return fail(res, 409, 'drone-offline', 'the drone is offline');
    const drone = sessions.liveDrone(hex(reg._id));
    if (!drone) return fail(res, 409, 'drone-disconnected', 'the drone has no live connection');
    const answer = await askDrone(drone, 'requestTermination', {}, config.terminationAckMs);
    if (answer.kind === 'timeout') return fail(res, 504, 'termination-timeout', 'the drone did not answer');
    // A drone that accepts exits at once: its socket may close before its ack arrives,
    // so a drone gone while we wait counts as accepting; the poll below decides.
    if (answer.kind === 'ack' && !accepted(answer.value)) {
      return fail(res, 409, 'termination-rejected', 'the drone refused to terminate');
    }
    const deadline = Date.now() + config.terminationPollMs;
    for (;;) {
      const now = await registrations.findOne({ _id: reg._id }, { projection: { status: 1 } });
      if (!now || now.status === 'offline') return send(res, 200, { ok: true, terminated: true });
      if (Date.now() >= deadline) break;
      await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
    fail(res, 504, 'termination-timeout', 'the drone did not go offline in time');
  }

  return async function handle(req, res) {
    try {
      const path = new URL(req.url, 'http://relay').pathname.replace(/\/+$/, '') || '/';
      const method = req.method;
      let m;
      if (path === '/healthz') {
        return method === 'GET' ? healthz(res) : fail(res, 405, 'method-not-allowed', 'use GET');
      }
      if (path === '/api/v1/debug/sessions') {
        return method === 'GET' ? debugSessions(req, res) : fail(res, 405, 'method-not-allowed', 'use GET');
      }
      if ((m = /^\/api\/v1\/drone\/registration\/([^/]+)$/.exec(path))) {
        if (method !== 'GET') return fail(res, 405, 'method-not-allowed', 'use GET');
        const reg = await registrationFor(req, res, decodeURIComponent(m[1]));
        if (reg) send(res, 200, { ok: true, registration: publicRegistration(reg) });
        return;
      }
      if ((m = /^\/api\/v1\/drone\/registration\/([^/]+)\/terminate$/.exec(path))) {
        if (method !== 'POST') return fail(res, 405, 'method-not-allowed', 'use POST');
        return await terminate(req, res, decodeURIComponent(m[1]));
      }
      fail(res, 404, 'not-found', 'no such route');
    } catch (err) {
      console.error(`http ${req.method} ${req.url}: ${err.stack || err}`);
      if (!res.headersSent) fail(res, 500, 'internal-error', 'the relay failed to answer');
    }
  };
}

module.exports = { createHandler };
