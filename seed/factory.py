"""Plan a world in memory: the documents to insert and the ``World`` that describes them.

Pure: no database. Names come from Faker (locale ``en_US``); with a ``faker_seed`` the
same seed gives the same names. Emails, slugs and hostnames carry the run tag
(``seed.runid.run_tag``) and an ordinal, so no two runs, and no two documents of one
run, share one. Ids and tokens are always random.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from bson import ObjectId
from faker import Faker

from harness.protocol import (
    PROVIDER_KINDS,
    SEED_RUN_FIELD,
    Collection,
    DroneStatus,
    token_hash,
)
from seed.runid import check_run_id, run_tag
from seed.world import (
    SeededChatSession,
    SeededDrone,
    SeededProject,
    SeededProvider,
    SeededUser,
    World,
    WorldSpec,
)

FAKER_LOCALE: Final = "en_US"
TOKEN_BYTES: Final = 32

# Collections a seeding run writes, in insert order (parents before children).
SEEDED_COLLECTIONS: Final = (
    Collection.USERS,
    Collection.AI_PROVIDERS,
    Collection.PROJECTS,
    Collection.CHAT_SESSIONS,
    Collection.DRONE_REGISTRATIONS,
)

_MODELS: Final[dict[str, tuple[str, ...]]] = {
    "openai": ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini"),
    "anthropic": ("claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-latest"),
    "ollama": ("llama3.1:8b", "qwen2.5-coder:7b", "mistral:7b", "deepseek-coder-v2:16b"),
}
_PROVIDER_USES: Final = ("prod", "staging", "dev", "local", "team", "research")
_PROVIDER_LABELS: Final[dict[str, str]] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "ollama": "Ollama",
}


@dataclass(frozen=True)
class WorldPlan:
    """A world not yet written: its documents per collection, in insert order."""

    world: World
    documents: dict[str, list[dict[str, Any]]]
    created_at: datetime

    def ids(self, collection: str) -> list[ObjectId]:
        """The ``_id``s planned for ``collection``."""
        return [doc["_id"] for doc in self.documents.get(collection, [])]


def new_token() -> str:
    """A fresh clear token (URL-safe, 256 bits from ``secrets``)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


hash_token = token_hash  # the seed's historical name for the protocol's token hash


def utc_now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds (what MongoDB stores)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso_utc(moment: datetime) -> str:
    """``2026-11-26T07:15:00.123Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


_fakers: dict[int, Faker] = {}


def _new_faker(faker_seed: int | None) -> Faker:
    """A Faker seeded with ``faker_seed`` (random when None). Building one loads every
    provider (tens of milliseconds, per world of a parallel pack); each thread keeps one and
    reseeds it, which makes the same names as a new one seeded alike."""
    fake = _fakers.get(threading.get_ident())
    if fake is None:
        fake = _fakers.setdefault(threading.get_ident(), Faker(FAKER_LOCALE))
    fake.seed_instance(faker_seed if faker_seed is not None else secrets.randbits(64))
    return fake


def _base_url(fake: Faker, kind: str) -> str:
    if kind == "ollama":
        return f"http://{fake.hostname(0)}.{fake.safe_domain_name()}:11434"
    return f"https://{fake.domain_word()}-{kind}.{fake.safe_domain_name()}/v1"


def plan_world(
    spec: WorldSpec,
    run_id: str,
    database: str,
    *,
    faker_seed: int | None = None,
    now: datetime | None = None,
) -> WorldPlan:
    """Build every document of a run in memory, and the ``World`` describing them.

    Raises ``SpecError`` for a malformed run id.
    """
    check_run_id(run_id)
    created_at = now if now is not None else utc_now_ms()
    fake = _new_faker(faker_seed)
    tag = run_tag(run_id)
    docs: dict[str, list[dict[str, Any]]] = {name: [] for name in SEEDED_COLLECTIONS}

    def document(collection: str, **fields: Any) -> ObjectId:
        oid = ObjectId()
        docs[collection].append(
            {"_id": oid, **fields, SEED_RUN_FIELD: run_id, "createdAt": created_at}
        )
        return oid

    users: list[SeededUser] = []
    providers: list[SeededProvider] = []
    projects: list[SeededProject] = []
    chats: list[SeededChatSession] = []
    drones: list[SeededDrone] = []

    for u in range(spec.users):
        display_name = fake.name()
        email = f"{fake.user_name()}.{u}+{tag}@{fake.safe_domain_name()}"
        token = new_token()
        user_oid = document(
            Collection.USERS, email=email, displayName=display_name,
            apiTokenHash=hash_token(token),
        )
        user_id = str(user_oid)
        users.append(SeededUser(user_id, email, display_name, token))

        user_providers: list[SeededProvider] = []
        for _ in range(spec.providers_per_user):
            kind = str(fake.random_element(PROVIDER_KINDS))
            name = f"{_PROVIDER_LABELS[kind]} {fake.random_element(_PROVIDER_USES)}"
            base_url = _base_url(fake, kind)
            model = str(fake.random_element(_MODELS[kind]))
            oid = document(
                Collection.AI_PROVIDERS, user=user_oid, name=name, kind=kind,
                baseUrl=base_url, model=model,
            )
            user_providers.append(SeededProvider(str(oid), user_id, name, kind, base_url, model))
        providers.extend(user_providers)

        for _ in range(spec.projects_per_user):
            name = " ".join(fake.catch_phrase().split()[-2:]).title()
            slug = f"{fake.slug(name)}-{tag}-{len(projects)}"
            project_oid = document(Collection.PROJECTS, user=user_oid, name=name, slug=slug)
            projects.append(SeededProject(str(project_oid), user_id, name, slug))
            for c in range(spec.chat_sessions_per_project):
                provider = user_providers[c % len(user_providers)]
                title = fake.sentence(nb_words=5).rstrip(".")
                oid = document(
                    Collection.CHAT_SESSIONS, user=user_oid, project=project_oid,
                    provider=ObjectId(provider.id), title=title,
                )
                chats.append(
                    SeededChatSession(str(oid), user_id, str(project_oid), provider.id, title)
                )

        for _ in range(spec.drones_per_user):
            hostname = f"{fake.hostname(0)}-{tag}-{len(drones)}"
            token = new_token()
            oid = document(
                Collection.DRONE_REGISTRATIONS, user=user_oid, hostname=hostname,
                tokenHash=hash_token(token), status=DroneStatus.OFFLINE, lockedBy=None,
                lastSeenAt=None,
            )
            drones.append(SeededDrone(str(oid), user_id, hostname, token))

    world = World(
        run_id=run_id,
        database=database,
        created_at=iso_utc(created_at),
        spec=spec,
        users=tuple(users),
        providers=tuple(providers),
        projects=tuple(projects),
        chat_sessions=tuple(chats),
        drones=tuple(drones),
        faker_seed=faker_seed,
    )
    return WorldPlan(world=world, documents=docs, created_at=created_at)
