"""MongoDB URI helpers shared by every part that names a URI in a message.

``mask_uri`` is the one masking function: every message and log line that shows a URI
shows ``mask_uri(uri)``. ``check_mongo_uri`` is the one validation: it raises
``ConfigError`` with a single line (the flag, the masked URI, what is wrong) for any
input, so a malformed ``--mongo-uri`` never reaches pymongo's parser and its traceback.
``safe_detail`` makes a third-party error text fit for a message about a URI.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from typing import Final
from urllib.parse import unquote_plus

from harness.errors import ConfigError

__all__ = ["check_mongo_uri", "mask_uri", "mongo_uri_problem", "safe_detail"]

MASK: Final = "***"
SCHEMES: Final = ("mongodb", "mongodb+srv")

# Any scheme, in any case: a userinfo is masked whatever the scheme says.
_SCHEME: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# Option names whose values are secrets (tlsCertificateKeyFilePassword, AWS session tokens
# inside authMechanismProperties, ...).
_SECRET_OPTION: Final = re.compile(r"password|secret|token|authmechanismproperties", re.I)
_BAD_DB_CHARS: Final = re.compile(r'[/\\. "$]')
_USAGE: Final = "mongodb://[user:password@]host[:port][/database][?options]"


def _printable(text: str) -> str:
    """``text`` on one line: control and other non-printable characters escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _split_host_port(entity: str) -> tuple[str, str | None]:
    """``host`` and ``port`` (None when absent) of one entry of a host list (as pymongo
    reads it: ``[IPv6]:port``, ``host:port``, or a ``.sock`` path that has no port)."""
    if entity.endswith(".sock"):
        return entity, None
    if entity.startswith("["):
        close = entity.find("]")
        if close != -1 and entity[close + 1:close + 2] == ":":
            return entity[:close + 1], entity[close + 2:]
        return entity, None
    host, colon, port = entity.partition(":")
    return (host, port) if colon else (entity, None)


def _is_port(port: str) -> bool:
    return port.isascii() and port.isdigit()


def _mask_hosts(hosts: str) -> str:
    """The host list with every port that is not a number masked: without an ``@``, a
    password typed where a port belongs (``mongodb://admin:hunter2``) stays hidden."""
    shown = []
    for entity in hosts.split(","):
        host, port = _split_host_port(entity)
        shown.append(entity if port is None or _is_port(port) else f"{host}:{MASK}")
    return ",".join(shown)


def _mask_options(query: str) -> str:
    shown = []
    for pair in re.split(r"([&;])", query):
        key, equals, _value = pair.partition("=")
        shown.append(f"{key}={MASK}" if equals and _SECRET_OPTION.search(key) else pair)
    return "".join(shown)


def _mask_tail(tail: str) -> str:
    """Hosts, database and options (what follows the userinfo), secrets masked."""
    cut = min((i for i in (tail.find("/"), tail.find("?")) if i != -1), default=len(tail))
    hosts, rest = tail[:cut], tail[cut:]
    path, question, query = rest.partition("?")
    return _mask_hosts(hosts) + path + question + _mask_options(query)


def mask_uri(uri: str) -> str:
    """``uri`` for a message: its password replaced by ``***``, on one printable line.

    Never shows any part of a password, for any input: the scheme may be in any case
    (or absent); the userinfo ends at the LAST ``@`` of the URI (a password may hold
    ``@ / : ? %`` unescaped); only the user name before the first ``:`` stays, for
    diagnosis. A URI without ``@`` shows no password, but a port that is not a number
    (a password where a port belongs) is masked too, as are the values of options named
    like secrets. Works on the URI's structure only: it never searches the password in
    the text.
    """
    text = uri if isinstance(uri, str) else repr(uri)
    match = _SCHEME.match(text)
    prefix = match.group(0) if match else ""
    rest = text[len(prefix):]
    userinfo, at, tail = rest.rpartition("@")
    if at:
        user = userinfo.partition(":")[0]
        return _printable(f"{prefix}{user}:{MASK}@{_mask_tail(tail)}")
    return _printable(prefix + _mask_tail(rest))


def _raw_and_decoded(secret: str) -> list[str]:
    """``secret`` and its percent-decoded form, when long enough to mean something in a
    text (a one-letter password is in every message)."""
    return [text for text in (secret, unquote_plus(secret)) if len(text) >= 3]


def _secrets(uri: str) -> list[str]:
    """What a message about ``uri`` must not contain: the password, the userinfo that
    holds it, and the values of options named like secrets (3 characters or more)."""
    match = _SCHEME.match(uri)
    rest = uri[match.end():] if match else uri
    found: list[str] = []
    userinfo, at, tail = rest.rpartition("@")
    _user, colon, password = userinfo.partition(":")
    if at and colon and password:
        found.extend(_raw_and_decoded(userinfo))
        found.extend(_raw_and_decoded(password))
    query = (tail if at else rest).partition("?")[2]
    for pair in re.split(r"[&;]", query):
        key, equals, value = pair.partition("=")
        if equals and value and _SECRET_OPTION.search(key):
            found.extend(_raw_and_decoded(value))
    return found


def safe_detail(text: str, uri: str) -> str:
    """``text`` (a pymongo or other third-party error) on one line, fit to print beside
    ``mask_uri(uri)``: withheld entirely when it quotes the URI's password (a message is
    never edited to hide a password in it; that would show the rest, or mangle it)."""
    line = _printable(" ".join(text.split()))
    if any(secret in text or secret in line for secret in _secrets(uri)):
        return "(details withheld: they quote the password)"
    return line or "(no details)"


def _userinfo_problem(userinfo: str) -> str | None:
    if "@" in userinfo:
        return "an unescaped '@' in the user name or password: write it as %40"
    if userinfo.count(":") > 1:
        return "an unescaped ':' in the password: write it as %3A"
    if re.search(r"%(?![0-9A-Fa-f]{2})", userinfo):
        return "a '%' in the user name or password that is not an escape: write it as %25"
    if not userinfo.partition(":")[0]:
        return "an empty user name before the password"
    return None


def _hosts_problem(hosts: str, srv: bool) -> str | None:
    if not hosts:
        return "no host"
    entities = hosts.split(",")
    if srv and len(entities) != 1:
        return "mongodb+srv:// takes exactly one host name, without a port"
    for entity in entities:
        if not entity:
            return "an empty host in the host list"
        if entity.startswith("[") and "]" not in entity:
            return "an IPv6 address without its closing ']'"
        if entity[0] != "[" and not entity.endswith(".sock") and entity.count(":") > 1:
            return "more than one ':' in a host (an IPv6 address goes in [brackets])"
        host, port = _split_host_port(entity)
        if not host.strip("[]"):
            return "an empty host name"
        if port is None:
            continue
        if srv:
            return "mongodb+srv:// takes exactly one host name, without a port"
        if not _is_port(port):
            return ("a port that is not a number (a password with '/', '?', '@' or ':' "
                    "must be percent-escaped: %2F, %3F, %40, %3A)")
        if not 0 < int(port) <= 65535:
            return f"port {port} of host {_printable(host)} is not from 1 to 65535"
    return None


def _pymongo_problem(uri: str, srv: bool, query: str) -> str | None:
    """What pymongo refuses (options, database name, credentials...), as safe text: its
    parser, then a client that does not connect (nor resolve an SRV record)."""
    from pymongo import MongoClient
    from pymongo.uri_parser import parse_uri, split_options

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if srv:  # parse_uri would resolve the SRV record: the options only
                if query:
                    split_options(query)
            else:
                parse_uri(uri)
            MongoClient(uri, connect=False).close()
    except Exception as exc:  # any refusal becomes one line; pymongo's types vary
        return safe_detail(str(exc) or type(exc).__name__, uri)
    return None


def mongo_uri_problem(uri: object) -> str | None:
    """What is wrong with ``uri`` as a MongoDB URI, in words that quote no secret; None
    when pymongo will accept it (for ``mongodb+srv://``, but for what only DNS can say)."""
    if not isinstance(uri, str) or not uri:
        return f"empty; expected {_USAGE}"
    categories = {unicodedata.category(ch) for ch in uri if not ch.isprintable()}
    if categories & {"Cc", "Zl", "Zp"}:
        return "contains a control character (a newline, a tab...)"
    if "Cs" in categories:
        return "contains bytes that are not valid UTF-8"
    match = _SCHEME.match(uri)
    if match is None:
        return f"no scheme; expected {_USAGE} or mongodb+srv://host"
    scheme = match.group(1)
    if scheme.lower() not in SCHEMES:
        return f"scheme {scheme}:// is not mongodb:// or mongodb+srv://"
    if scheme not in SCHEMES:
        return f"write the scheme in lower case: {scheme.lower()}://"
    rest = uri[match.end():]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i != -1), default=len(rest))
    if "@" in rest[cut:]:
        # Either '@' in the database or options, or '/' or '?' in the password: refused, so
        # the password pymongo reads is always the one mask_uri hides.
        return ("an '@' after the host: percent-escape '/', '?', '@' and ':' in the user "
                "name and password (%2F, %3F, %40, %3A), and '@' in the database name or "
                "options (%40)")
    userinfo, at, hosts = rest[:cut].rpartition("@")
    srv = scheme == "mongodb+srv"
    problem = (_userinfo_problem(userinfo) if at else None) or _hosts_problem(hosts, srv)
    if problem is not None:
        return problem
    path, _question, query = rest[cut:].partition("?")
    database = unquote_plus(path[1:]).split(".", 1)[0]
    if _BAD_DB_CHARS.search(database):
        return "the database name holds one of / \\ . \" $ or a space"
    return _pymongo_problem(uri, srv, query)


def check_mongo_uri(uri: str, *, what: str = "--mongo-uri") -> str:
    """``uri`` when it is a MongoDB URI pymongo accepts; else ``ConfigError``, one line:
    ``what``, the masked URI and what is wrong (never a part of the password)."""
    problem = mongo_uri_problem(uri)
    if problem is not None:
        raise ConfigError(f"{what} {mask_uri(uri)}: {problem}")
    return uri
