"""Hostile MongoDB URIs (issue 13): masking hides every password, validation says one line.

URIs are built from random parts: a scheme in random case, a user and a password of any
characters (``@ / : % ?``, unicode, controls), one to three hosts with random ports, a
path and options. The properties:

* ``mask_uri`` never raises, gives one printable line, and does not depend on the password
  at all (the URI without its password masks to the same text), so it never contains a
  password of 3+ characters that the rest of the URI does not contain;
* ``check_mongo_uri`` raises nothing but ``ConfigError``, one line, without the password;
  a URI it accepts is parsed by pymongo with exactly the password ``mask_uri`` hid;
* through the real command line (a subprocess each), a malformed URI exits 2 with one
  line, no traceback, no password.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus, unquote_plus

from _harness_cli import REPO
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from pymongo.uri_parser import parse_uri

import harness.uri
from harness.errors import ConfigError
from harness.uri import check_mongo_uri, mask_uri

HOSTILE = "@/:%?#[]&=+ "


@dataclass(frozen=True)
class Uri:
    scheme: str
    user: str
    password: str | None
    tail: str  # hosts, path, options

    @property
    def text(self) -> str:
        if self.password is not None:
            return f"{self.scheme}://{self.user}:{self.password}@{self.tail}"
        return f"{self.scheme}://{self.user}@{self.tail}" if self.user \
            else f"{self.scheme}://{self.tail}"

    @property
    def rest(self) -> str:
        """The URI without its password (the colon and the '@' stay)."""
        if self.password is None:
            return self.text
        return f"{self.scheme}://{self.user}:@{self.tail}"


def _shown(text: str) -> str:
    """``text`` as a message shows it: non-printable characters escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


def _random_case(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in word]).map("".join)


def _text(max_size: int, codec: str | None = None, controls: bool = False
          ) -> st.SearchStrategy[str]:
    """Unicode text, often the URI's delimiters, often plain letters; with ``controls``,
    control characters (and surrogates, without ``codec``; never NUL with one)."""
    if controls:
        anything = st.characters(codec=codec, exclude_characters="\0" if codec else None)
    else:
        anything = st.characters(codec=codec, exclude_categories=("Cc", "Cs", "Zl", "Zp"))
    chars = st.one_of(st.sampled_from(HOSTILE), anything,
                      st.characters(min_codepoint=97, max_codepoint=122))
    return st.text(chars, max_size=max_size)


schemes = st.sampled_from(["mongodb", "mongodb", "mongodb+srv", "random case"]).flatmap(
    lambda scheme: st.sampled_from(["mongodb", "mongodb+srv"]).flatmap(_random_case)
    if scheme == "random case" else st.just(scheme))
hosts = st.one_of(st.sampled_from(["localhost", "127.0.0.1", "db.example.com", "[::1]",
                                   "%2Ftmp%2Fm.sock"]), _text(8))
ports = st.one_of(st.none(), st.integers(-5, 100_000).map(str), _text(5))
host_lists = st.lists(st.tuples(hosts, ports), min_size=1, max_size=3).map(
    lambda pairs: ",".join(h if p is None else f"{h}:{p}" for h, p in pairs))
paths = st.one_of(st.just(""), st.just("/"), st.sampled_from(["/gadget", "/a.b"]),
                  _text(8).map(lambda t: "/" + t))
options = st.one_of(st.just(""), st.sampled_from(["?tls=false", "?authSource=admin&w=1",
                                                  "?readPreference=nope", "?appName=x"]),
                    _text(10).map(lambda t: "?" + t))


def _uris(codec: str | None = None, password: st.SearchStrategy[str] | None = None
          ) -> st.SearchStrategy[Uri]:
    """Random URIs; with ``password``, always that password, as typed (unescaped)."""
    raw = st.one_of(_text(16, codec), _text(16, codec), _text(16, codec, controls=True))
    passwords = password if password is not None else st.one_of(
        st.none(), raw, raw.map(lambda text: quote_plus(text, errors="surrogatepass")))
    users = st.one_of(st.sampled_from(["", "user", "alice"]), _text(6, codec))
    tails = st.tuples(host_lists, paths, options).map("".join)
    return st.builds(Uri, schemes, users, passwords, tails)


def _absent(password: str | None, uri: Uri, text: str) -> None:
    """The property of the brief: a password of 3+ characters that the rest of the URI
    does not contain (as shown) and that holds no '*' (the mask writes those) is absent."""
    if password is None or len(password) < 3 or "*" in password:
        return
    if password in _shown(uri.rest) or _shown(password) in _shown(uri.rest):
        return
    assert password not in text and _shown(password) not in text, (uri, text)


@given(_uris())
def test_mask_uri_never_shows_the_password(uri: Uri) -> None:
    masked = mask_uri(uri.text)
    assert masked.isprintable() and "\n" not in masked
    # The masked text does not depend on the password: it cannot leak any part of it.
    assert masked == mask_uri(uri.rest)
    _absent(uri.password, uri, masked)
    if uri.password is not None:
        _absent(unquote_plus(uri.password), uri, masked)


_WORDING = Path(harness.uri.__file__).read_text()


def _problem_text(text: str) -> str:
    try:
        check_mongo_uri(text)
    except ConfigError as exc:
        return str(exc)
    return ""


@given(_uris())
def test_check_mongo_uri_says_one_line_or_accepts(uri: Uri) -> None:
    try:
        accepted = check_mongo_uri(uri.text)
    except ConfigError as exc:
        message = str(exc)
        head = f"--mongo-uri {mask_uri(uri.text)}: "
        assert message.startswith(head) and message.isprintable(), message
        problem = message.removeprefix(head)
        event("refused: " + problem[:30])
        # The masked URI is checked above; in what is said about it, a password is
        # absent unless it is a phrase of the harness's own wording.
        for password in {uri.password, unquote_plus(uri.password or "")} - {None, ""}:
            assert password is not None
            if password not in _WORDING and password not in _problem_text(uri.rest):
                _absent(password, uri, problem)
        return
    event("accepted")
    assert accepted == uri.text
    # What the harness accepts, the client accepts too (no traceback after the check).
    AsyncMongoClient(uri.text, connect=False, tz_aware=True, serverSelectionTimeoutMS=100)
    if uri.scheme == "mongodb" and uri.password is not None:
        # The password pymongo will send is exactly the one the mask hides.
        assert parse_uri(uri.text)["password"] == unquote_plus(uri.password)


# Through the command line: passwords that are malformed for sure (an unescaped '@', '/',
# '?' or ':' inside), of 3+ characters; text that a command line can carry (UTF-8, no NUL).
_cli_passwords = st.tuples(_text(6, "utf-8"), st.sampled_from("@/?:"), _text(6, "utf-8")).map(
    lambda parts: "x" + "".join(parts) + "y")
_COMMANDS = {
    "seed": ["seed", "gc", "--older-than", "1h"],
    "relay": ["relay", "--port", "0"],
    "run": ["run", str(REPO / "scenarios" / "termination" / "no-answer.scenario.yaml"),
            "--env", "external", "--relay-url", "http://127.0.0.1:1"],
}


@settings(max_examples=10)
@given(st.sampled_from(sorted(_COMMANDS)), _uris("utf-8", _cli_passwords))
def test_cli_refuses_a_malformed_uri_in_one_line(command: str, uri: Uri) -> None:
    event(command)
    try:
        check_mongo_uri(uri.text)
    except ConfigError:
        pass
    else:
        assume(False)  # only malformed URIs here: a valid one would try to connect
    done = subprocess.run([sys.executable, "-m", "harness.cli", *_COMMANDS[command],
                           "--mongo-uri", uri.text], cwd=REPO, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --mongo-uri "), output
    _absent(uri.password, uri, output)
