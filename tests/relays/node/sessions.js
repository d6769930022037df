'use strict';
// Live sessions (contract section 3): one primary map by socket id and three secondary
// indexes by business id. Every lookup by business id goes through an index, and
// remove() takes a session out of every map, leaving no empty entries behind.

const sessions = new Map();                   // socket id -> session
const dronesByRegistration = new Map();       // registration id -> drone session
const codeSessionsByUser = new Map();         // user id -> Set<code session>
const codeSessionsByChatSession = new Map();  // chat session id -> Set<code session>

function addToSet(map, key, value) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFromSet(map, key, value) {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/** A session: {id, socket, kind: 'code'|'drone', userId, registrationId?, chats?, gone, onGone}. */
function create(socket, kind, userId, registrationId) {
  return { id: socket.id, socket, kind, userId, registrationId, chats: new Set(),
    gone: false, onGone: new Set() };
}

function addCode(session) {
  sessions.set(session.id, session);
  addToSet(codeSessionsByUser, session.userId, session);
}

/** Newest connection wins: returns the session it replaced (a handover), if any. */
function addDrone(session) {
  const previous = dronesByRegistration.get(session.registrationId);
  sessions.set(session.id, session);
  dronesByRegistration.set(session.registrationId, session);
  return previous && previous !== session ? previous : null;
}

function openChat(session, chatSessionId) {
  session.chats.add(chatSessionId);
  addToSet(codeSessionsByChatSession, chatSessionId, session);
}

/**
 * Removes the session from every map. For a drone, returns true when it still was the
 * registration's current session (a real disconnect) and false when a newer socket had
 * already replaced it (a handover: only this socket leaves the maps, section 9).
 */
function remove(session) {
  session.gone = true;
  for (const callback of session.onGone) callback();
  session.onGone.clear();
  sessions.delete(session.id);
  if (session.kind === 'code') {
    removeFromSet(codeSessionsByUser, session.userId, session);
    for (const chat of session.chats) removeFromSet(codeSessionsByChatSession, chat, session);
    session.chats.clear();
    return false;
  }
  if (dronesByRegistration.get(session.registrationId) !== session) return false;
  dronesByRegistration.delete(session.registrationId);
  return true;
}

const liveDrone = (registrationId) => dronesByRegistration.get(registrationId) || null;
const codeSessionsOfUser = (userId) => [...(codeSessionsByUser.get(userId) || [])];
const codeSessionsOfChat = (chatId) => [...(codeSessionsByChatSession.get(chatId) || [])];

/** The introspection answer's maps (section 10), plus extra maps the caller passes. */
function snapshot(extra = {}) {
  const describe = (map) => ({ size: map.size, keys: [...map.keys()] });
  const maps = {
    sessions: describe(sessions),
    dronesByRegistration: describe(dronesByRegistration),
    codeSessionsByUser: describe(codeSessionsByUser),
    codeSessionsByChatSession: describe(codeSessionsByChatSession),
  };
  for (const [name, map] of Object.entries(extra)) maps[name] = describe(map);
  return maps;
}

module.exports = { create, addCode, addDrone, openChat, remove, liveDrone,
  codeSessionsOfUser, codeSessionsOfChat, snapshot, all: () => [...sessions.values()] };
