"""Who is connecting: the Socket.IO ``auth`` payload and the HTTP bearer token.

Tokens are compared as sha256 hex digests with ``hmac.compare_digest`` and never logged.
Refusal reasons (``AuthRefused.code``):

    auth-invalid  the payload is missing, not an object, of an unknown type, lacks a
                  field, or carries a registration id that is not 24 hex digits
    auth-unknown  no drone registration has that id
    auth-denied   the IDE token matches no user, or the drone token is wrong

A token that is not UTF-8-encodable text (a lone surrogate from JSON ``"\\ud800"``, or a
non-UTF-8 ``Authorization`` header, which aiohttp hands over surrogate-escaped) cannot be
anyone's: it is a wrong token (``auth-denied``, HTTP 401), never hashed or looked up.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from harness.protocol import ErrorCode, token_hash
from harness.relay.store import RegistrationDoc, Store, UserDoc
from harness.relay.validation import CodeAuth, PayloadError, Refused, is_text, parse_auth

__all__ = ["AuthRefused", "CodeIdentity", "DroneIdentity", "authenticate", "bearer_user",
           "token_hash"]


class AuthRefused(Refused):
    """A refused connection; ``code`` is named by the ``connect_error`` message (the
    reference relay sends the code itself; see ``Dialect.connect_refusal``)."""


@dataclass(frozen=True)
class CodeIdentity:
    user_id: str


@dataclass(frozen=True)
class DroneIdentity:
    registration: RegistrationDoc


def _same(token: str, stored_hash: str) -> bool:
    if not is_text(token) or not is_text(stored_hash):
        return False
    return hmac.compare_digest(token_hash(token).encode(), stored_hash.encode())


async def _user(store: Store, token: str) -> UserDoc | None:
    if not is_text(token):
        return None
    user = await store.user_by_token_hash(token_hash(token))
    return user if user is not None and _same(token, user.api_token_hash) else None


async def authenticate(store: Store, auth: Any) -> CodeIdentity | DroneIdentity:
    """Check a connect ``auth`` payload; raises ``AuthRefused`` with the reason."""
    try:
        parsed = parse_auth(auth)
    except PayloadError as exc:
        raise AuthRefused(exc.code, exc.message) from None
    if isinstance(parsed, CodeAuth):
        user = await _user(store, parsed.token)
        if user is None:
            raise AuthRefused(ErrorCode.AUTH_DENIED, "auth: the token matches no user")
        return CodeIdentity(user.id)
    registration = await store.registration(parsed.registration_id)
    if registration is None:
        raise AuthRefused(ErrorCode.AUTH_UNKNOWN,
                          f"auth: no drone registration {parsed.registration_id}")
    if not _same(parsed.token, registration.token_hash):
        raise AuthRefused(ErrorCode.AUTH_DENIED,
                          f"auth: wrong token for registration {parsed.registration_id}")
    return DroneIdentity(registration)


async def bearer_user(store: Store, authorization: str | None) -> UserDoc | None:
    """The user named by an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return await _user(store, token)
