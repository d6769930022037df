"""The two sides of a comparison: what ``--baseline`` and ``--candidate`` name, and the
environment each becomes.

A side is ``KIND[:KEY=VALUE[,KEY=VALUE...]]``:

- ``local``: the reference relay here, with ``regress=SWITCH``, ``variant=NAME`` (each
  repeatable, or joined with ``+``) and ``rev=REVISION``: the relay of that git revision
  of this repository (its ``harness`` package), with the harness of this checkout;
- ``compose``: relay and database in containers; ``image=REF`` runs that relay image,
  ``profile=FILE`` a relay profile (docs/containers.md; ``image=`` then overrides its
  image); ``regress``/``variant`` as above for the reference image;
- ``external``: a running relay: ``url=``, ``mongo=`` (its database), ``db=`` (the
  database name), ``token=`` (its admin token; better: ``GADGET_ADMIN_TOKEN``).

A value runs to the next ``,KEY=``, so a MongoDB URI with hosts separated by commas is one
value. Secrets never reach a label: a token is shown as ``***``, a URI's password too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from harness.env import open_environment
from harness.env.base import Environment
from harness.env.profile import RelayProfile, load_profile
from harness.errors import ConfigError
from harness.protocol import DEFAULT_DATABASE
from harness.settings import REGRESSIONS, VARIANTS, RelaySettings, RelayTimeouts
from harness.uri import mask_uri

KINDS: Final = ("local", "compose", "external")
_KEYS: Final = {
    "local": ("regress", "variant", "rev"),
    "compose": ("regress", "variant", "image", "profile"),
    "external": ("url", "mongo", "db", "token"),
}
_SPLIT = re.compile(r",(?=[a-z]+=)")
_PAIR = re.compile(r"^(?P<key>[a-z]+)=(?P<value>.*)$", re.DOTALL)
# The variables our relay reads, for an image of it given without a profile.
_REFERENCE_ENV: Final = {"mongo_uri": "GADGET_MONGO_URI", "database": "GADGET_DATABASE",
                         "admin_token": "GADGET_ADMIN_TOKEN"}


@dataclass(frozen=True)
class Side:
    """One side as parsed (see the module docstring); ``flag`` is where it was given."""

    flag: str
    kind: str
    regressions: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    revision: str | None = None
    image: str | None = None
    profile: Path | None = None
    url: str | None = None
    mongo: str | None = None
    database: str | None = None
    token: str | None = None

    @property
    def label(self) -> str:
        """The side as a user would type it, secrets masked."""
        parts = [f"regress={r}" for r in self.regressions]
        parts += [f"variant={v}" for v in self.variants]
        for key, value in (("rev", self.revision), ("image", self.image),
                           ("profile", self.profile), ("url", self.url),
                           ("mongo", mask_uri(self.mongo) if self.mongo else None),
                           ("db", self.database), ("token", "***" if self.token else None)):
            if value is not None:
                parts.append(f"{key}={value}")
        return self.kind + (":" + ",".join(parts) if parts else "")


def parse_side(text: str, flag: str) -> Side:
    """Parse one side; raises ``ConfigError`` naming ``flag`` and what is wrong."""
    kind, _, rest = text.strip().partition(":")
    if kind not in KINDS:
        raise ConfigError(f"{flag} {text!r}: unknown kind {kind!r}; expected "
                          f"{' or '.join(KINDS)}, e.g. local:regress=lookup-by-socket-id")
    values: dict[str, list[str]] = {}
    for part in _SPLIT.split(rest) if rest else []:
        found = _PAIR.match(part)
        if found is None:
            raise ConfigError(f"{flag} {text!r}: {part!r} is not KEY=VALUE")
        key, value = found["key"], found["value"]
        if key not in _KEYS[kind]:
            raise ConfigError(f"{flag} {text!r}: {kind} takes no {key}=; it takes "
                              f"{', '.join(k + '=' for k in _KEYS[kind])}")
        if not value:
            raise ConfigError(f"{flag} {text!r}: {key}= needs a value")
        values.setdefault(key, []).extend(value.split("+") if key in ("regress", "variant")
                                          else [value])
    for key, known in (("regress", REGRESSIONS), ("variant", VARIANTS)):
        for name in values.get(key, ()):
            if name not in known:
                raise ConfigError(f"{flag} {text!r}: unknown {key} {name!r}; choose from "
                                  f"{', '.join(known)}")
    single = {k: v[0] for k, v in values.items() if k not in ("regress", "variant")}
    for key, given in values.items():
        if key not in ("regress", "variant") and len(given) > 1:
            raise ConfigError(f"{flag} {text!r}: {key}= given twice")
    side = Side(flag, kind, tuple(values.get("regress", ())), tuple(values.get("variant", ())),
                revision=single.get("rev"), image=single.get("image"),
                profile=Path(single["profile"]) if "profile" in single else None,
                url=single.get("url"), mongo=single.get("mongo"), database=single.get("db"),
                token=single.get("token"))
    if kind == "external" and (side.url is None or side.mongo is None):
        raise ConfigError(f"{flag} {text!r}: external needs url= and mongo=, e.g. "
                          "external:url=http://staging:3000,mongo=mongodb://staging:27017")
    if (side.image or side.profile) and (side.regressions or side.variants):
        raise ConfigError(f"{flag} {text!r}: regress= and variant= switch the reference "
                          "relay; a relay from image= or profile= is not the harness's")
    return side


class OpenedSide:
    """A side's environment (unstarted) and what must be removed when it is done: the
    checkout of ``rev=``."""

    def __init__(self, side: Side, env: Environment, checkout: Path | None = None) -> None:
        self.side = side
        self.env = env
        self.checkout = checkout

    def cleanup(self) -> None:
        """Remove the revision's checkout, if any."""
        if self.checkout is not None:
            shutil.rmtree(self.checkout, ignore_errors=True)


async def open_side(side: Side, base: RelaySettings, admin_token: str | None) -> OpenedSide:
    """The environment of ``side`` (unstarted). ``base`` holds the reference relay's
    settings (timeouts, heartbeat) both sides share. Raises ``ConfigError`` for a revision
    git does not know or a profile that does not load."""
    settings = dataclasses.replace(base, regressions=frozenset(side.regressions),
                                   variants=frozenset(side.variants))
    if side.kind == "local":
        checkout = await asyncio.to_thread(_checkout, side) if side.revision else None
        env = open_environment("local", settings=settings, relay_source=checkout)
        return OpenedSide(side, env, checkout)
    if side.kind == "compose":
        profile = _profile_of(side)
        if profile is None:
            return OpenedSide(side, open_environment("compose", settings=settings))
        return OpenedSide(side, open_environment("compose", settings=settings, profile=profile,
                                                 timeouts=profile.timeouts))
    return OpenedSide(side, open_environment(
        "external", relay_url=side.url, mongo_uri=side.mongo,
        database=side.database or DEFAULT_DATABASE, admin_token=side.token or admin_token,
        timeouts=RelayTimeouts()))


def _profile_of(side: Side) -> RelayProfile | None:
    if side.profile is not None:
        profile = load_profile(side.profile)
        return dataclasses.replace(profile, image=side.image) if side.image else profile
    if side.image is not None:
        return RelayProfile(source=Path(f"{side.flag} image={side.image}"), image=side.image,
                            env=dict(_REFERENCE_ENV))
    return None


def _checkout(side: Side) -> Path:
    """This repository's ``harness`` package at ``side.revision``, in a new folder."""
    assert side.revision is not None
    where = Path(tempfile.mkdtemp(prefix="harness-rev-"))
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
        archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", side.revision,
                                  "harness"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(where, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        text = detail.decode(errors="replace").strip().splitlines()
        raise ConfigError(f"{side.flag} rev={side.revision}: cannot check it out "
                          f"({text[-1] if text else exc})") from None
    return where
