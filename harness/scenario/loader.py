"""Load scenario files: YAML with lines -> JSON Schema -> semantic checks -> ``Scenario``.

Nothing runs until every file loads. Every problem is reported (not just the first) as
``file:line: step N (kind): what is wrong; allowed: ...``, in one ``ScenarioError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, ScenarioError, SpecError
from harness.scenario import matchers
from harness.scenario.groupcache import checked_group, instance_problems
from harness.scenario.kinds import GROUP_KINDS, REGISTRY
from harness.scenario.kinds.base import ANY, Canonical, StepKind
from harness.scenario.model import ActorSpec, Scenario, Source, Step
from harness.scenario.schema import format_error, step_kind, validate_document
from harness.scenario.stepgroups import StepGroup, find_group, substitute
from harness.scenario.templating import (
    captures_of,
    check_actor_name,
    check_reference,
    check_variable,
    references,
)
from harness.sim.reconnect import Reconnection
from harness.yamlsrc import Document, KeyPath, read_documents
from seed.world import WorldSpec

SUFFIX = ".scenario.yaml"
MAX_STEPS = 10_000
"""The most steps a scenario may have, those inside groups included (the pack's biggest
has 49); a file's size, nesting and aliases are bounded in ``harness.yamlsrc``."""

def find_scenario_files(paths: Iterable[Path | str]) -> list[Path]:
    """``*.scenario.yaml`` files under ``paths`` (files as given, directories searched).

    Raises ``ScenarioError`` for a path that does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*" + SUFFIX) if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or directory")
    return list(dict.fromkeys(found))


def load_paths(paths: Iterable[Path | str]) -> list[Scenario]:
    """Every scenario of every file under ``paths``; raises one ``ScenarioError`` for all."""
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for file in find_scenario_files(paths):
        try:
            scenarios += load_file(file)
        except ScenarioError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError("\n".join(problems))
    return scenarios


def load_file(file: Path, text: str | None = None) -> list[Scenario]:
    """The scenarios of one file (or of ``text`` named ``file``); raises ``ScenarioError``."""
    documents = read_documents(file, text)
    if not documents:
        raise ScenarioError(f"{file}:1: no scenario in this file")
    scenarios: list[Scenario] = []
    problems: list[str] = []
    names: dict[str, int] = {}
    for doc in documents:
        errors = _too_many_steps(doc) or validate_document(doc)
        if errors:
            problems += errors
            continue
        builder = _Builder(doc)
        scenario = builder.build()
        problems += builder.errors
        if scenario.name in names:
            problems.append(format_error(doc, ("name",), f"a scenario named {scenario.name!r} "
                                         f"is already on line {names[scenario.name]}"))
        names[scenario.name] = doc.line_of(("name",))
        scenarios.append(scenario)
    if problems:
        raise ScenarioError("\n".join(_one_line(problem) for problem in problems))
    return scenarios


def _too_many_steps(doc: Document) -> list[str]:
    """An error at the first step past ``MAX_STEPS`` (before the schema walks them all)."""
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    for count, path in enumerate(_step_paths(steps, ("steps",)), start=1):
        if count > MAX_STEPS:
            return [format_error(doc, path, f"too many steps: a scenario may have at most "
                                 f"{MAX_STEPS}, groups included")]
    return []


def _step_paths(steps: Any, path: KeyPath) -> Iterator[KeyPath]:
    """The path of every step in ``steps``, in the order written, groups' children too."""
    if not isinstance(steps, list):
        return
    for i, step in enumerate(steps):
        yield (*path, i)
        kind = step_kind(step)
        if kind in GROUP_KINDS:
            yield from _step_paths(step[kind], (*path, i, kind))


def _one_line(problem: str) -> str:
    """A problem as one line: a value quoted in it (a step's name) may hold a line break."""
    lines = problem.splitlines()
    return " ".join(lines) if len(lines) > 1 else problem


@dataclass
class _Expansion:
    """What the steps of a scenario and of the step groups it uses share while loading."""

    groups: dict[Path, StepGroup] = field(default_factory=dict)
    steps: int = 0  # steps built so far, groups' included


class _Builder:
    def __init__(self, doc: Document, parent: _Builder | None = None,
                 used_at: tuple[Source, ...] = (), stack: tuple[Path, ...] = ()) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.used_at, self.stack = used_at, stack
        self._below: dict[KeyPath, list[KeyPath]] | None = None
        if parent is None:
            self.errors: list[str] = []
            self.spec = WorldSpec()
            self.actors: dict[str, ActorSpec] = {}
            self.captured: set[str] = set()
            self.variables: dict[str, Any] = {}
            self.expansion = _Expansion()
        else:  # a step group's steps, in the scope of the scenario that uses it
            self.errors, self.spec, self.actors = parent.errors, parent.spec, parent.actors
            self.captured, self.variables = parent.captured, parent.variables
            self.expansion = parent.expansion

    def error(self, path: KeyPath, message: str, allowed: str | None = None,
              line_at: KeyPath | None = None) -> None:
        text = format_error(self.doc, path, message, allowed, line_at)
        if self.used_at:
            text += _used_at(self.used_at)
        self.errors.append(text)

    def source(self, path: KeyPath) -> Source:
        return Source(self.doc.file, self.doc.line_of(path))

    def build(self) -> Scenario:
        data = self.data
        try:
            self.spec = WorldSpec(**data.get("world", {}))
        except SpecError as exc:
            self.error(("world",), str(exc))
        self.variables.update(data.get("vars", {}))
        for name, raw in data["actors"].items():
            try:
                check_actor_name(name)
            except ValueError as exc:
                self.error(("actors", name), str(exc))
            self.actors[name] = self._actor(name, raw)
        for name in self.variables:
            try:
                check_variable(name, self.variables, self.spec, self.actors)
            except ValueError as exc:
                self.error(("vars", name), str(exc))
        steps = tuple(self._steps(data["steps"], ("steps",), ""))
        return Scenario(
            name=data["name"], source=self.source(()), world=self.spec,
            actors=tuple(self.actors.values()), steps=steps,
            description=data.get("description", ""), tags=tuple(data.get("tags", ())),
            expect_violations=tuple(data.get("expect_violations", ())),
            reference_only=data.get("reference_only"), exclusive=data.get("exclusive"),
            timeout=float(data.get("timeout", 60.0)), settle=float(data.get("settle", 2.0)),
            variables=dict(self.variables),
        )

    def _actor(self, name: str, raw: dict[str, Any]) -> ActorSpec:
        path: KeyPath = ("actors", name)
        spec = self.spec
        common = {"name": name, "source": self.source(path),
                  "transport": raw.get("transport", "websocket"),
                  **self._reconnection(raw, path)}
        if "behaviour" in raw and "drone" not in raw:
            self.error((*path, "behaviour"), "only drones have a behaviour")
        if "ide" in raw or "http" in raw:
            kind = "ide" if "ide" in raw else "http"
            body = raw[kind]
            user = body.get("user", 0 if kind == "ide" else None)
            if user is not None and user >= spec.users:
                self.error((*path, kind, "user"), f"user {user} out of range; the world has "
                           f"{spec.users} user(s) (indexes from 0)")
            token = body.get("token")
            self._check_refs(token, (*path, kind, "token"))
            chat = body.get("chat_session")
            chats = spec.projects_per_user * spec.chat_sessions_per_project
            if chat is not None and chat >= chats:
                self.error((*path, kind, "chat_session"), f"chat session {chat} out of range; "
                           f"each user has {chats} chat session(s) (indexes from 0)")
            return ActorSpec(type=kind, user=user, token=token,  # type: ignore[arg-type]
                             chat_session=chat, **common)
        body = raw["drone"]
        if isinstance(body, int):
            index, user, token, registration = body, None, None, None
            if index >= spec.drones:
                self.error((*path, "drone"), f"drone {index} out of range; the world has "
                           f"{spec.drones} drone(s) (indexes from 0)")
        else:
            index, user = body.get("index", 0), body.get("user", 0)
            token, registration = body.get("token"), body.get("registration")
            if user >= spec.users:
                self.error((*path, "drone", "user"), f"user {user} out of range; the world "
                           f"has {spec.users} user(s)")
            if index >= spec.drones_per_user:
                self.error((*path, "drone", "index"), f"drone {index} out of range; each user "
                           f"has {spec.drones_per_user} drone(s)")
            self._check_refs(body, (*path, "drone"))
        return ActorSpec(type="drone", user=user, drone=index, token=token,
                         registration=registration, behaviour=raw.get("behaviour", {}),
                         **common)

    def _reconnection(self, raw: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        """The actor's ``reconnect`` and ``on_reconnect`` as ``ActorSpec`` fields."""
        fields: dict[str, Any] = {}
        if "http" in raw:
            for key in ("reconnect", "on_reconnect"):
                if key in raw:
                    self.error((*path, key), "an HTTP actor has no connection to reconnect")
            return fields
        written = raw.get("reconnect", True)
        options = written if isinstance(written, dict) else {"enabled": bool(written)}
        try:
            fields["reconnection"] = Reconnection(**options)
        except ConfigError as exc:
            field_name = next((k for k in sorted(options, key=len, reverse=True)
                               if f"reconnection.{k} " in f"{exc} "), None)
            where = (*path, "reconnect", field_name) if field_name else (*path, "reconnect")
            self.error(where, str(exc).replace("reconnection.", "reconnect."))
        role = "ide" if "ide" in raw else "drone"
        for key, owner in (("reopen", "ide"), ("recover", "drone")):
            if key not in raw.get("on_reconnect", {}):
                continue
            if owner != role:
                what = "an IDE reopens its chat sessions" if key == "reopen" \
                    else "a drone asks for crash recovery"
                self.error((*path, "on_reconnect", key), f"only for {owner}s ({what})")
            elif written is False:
                self.error((*path, "on_reconnect", key), "the actor never reconnects by "
                           "itself (reconnect: false)")
            fields[key] = bool(raw["on_reconnect"][key])
        return fields

    def _steps(self, raw_steps: list[Any], path: KeyPath, prefix: str) -> Iterator[Step]:
        for i, raw in enumerate(raw_steps):
            label = f"{prefix}{i + 1}"
            yield self._step(raw, (*path, i), label)

    def _step(self, raw: dict[str, Any], path: KeyPath, label: str) -> Step:
        name = step_kind(raw)
        kind = REGISTRY[name]
        written = raw[name]
        args_path: KeyPath = (*path, name)
        children: tuple[Step, ...] = ()
        args: Any = None
        self.expansion.steps += 1
        if kind.include:
            args = kind.parse({"group": written})
            children = self._use(written, raw.get("with", {}), path, label)
        elif kind.group is not None:
            children = tuple(self._steps(written, args_path, label + "."))
        else:
            canonical = kind.canonical(written)
            self._check_step(kind, canonical, args_path)
            self._check_refs(written, args_path)
            self.captured |= captures_of(written)
            args = kind.parse(canonical.value)
        prefix_len = len(args_path)
        lines = {".".join(str(p) for p in key[prefix_len:]): self.doc.lines[key]
                 for key in self._lines_below(args_path)}
        return Step(kind=name, label=label, source=self.source(path), args=args,
                    name=raw.get("name"), children=children, lines=lines,
                    used_at=self.used_at)

    def _use(self, group_name: str, given: dict[str, Any], path: KeyPath,
             label: str) -> tuple[Step, ...]:
        """The steps of step group ``group_name`` with the parameters ``given``."""
        try:
            file = find_group(group_name, self.doc.file).resolve()
            if file in self.stack:
                chain = " -> ".join(p.name for p in (*self.stack, file))
                raise ScenarioError(f"step group {group_name!r} uses itself ({chain})")
        except ScenarioError as exc:
            self.error((*path, "use"), str(exc))
            return ()
        here = (self.source(path), *self.used_at)
        note = _used_at(here)
        group = self.expansion.groups.get(file)
        if group is None:
            try:
                group, problems = checked_group(group_name, file, _shown_path(file))
            except ScenarioError as exc:
                self.errors += [line + note for line in str(exc).splitlines()]
                return ()
            if problems:
                self.errors += [line + note for line in problems]
                return ()
            self.expansion.groups[file] = group
        args = self._group_args(group, given, path)
        if args is None:
            return ()
        instance = group.instantiate(args)
        problems = instance_problems(file, instance, args)
        if problems:
            self.errors += [line + note for line in problems]
            return ()
        steps = instance.data["steps"]
        if self.expansion.steps + len(list(_step_paths(steps, ("steps",)))) > MAX_STEPS:
            self.error((*path, "use"), f"too many steps: a scenario may have at most "
                       f"{MAX_STEPS}, step groups and groups included")
            return ()
        sub = _Builder(instance, self, here, (*self.stack, file))
        return tuple(sub._steps(steps, ("steps",), label + "."))

    def _group_args(self, group: StepGroup, given: dict[str, Any],
                    path: KeyPath) -> dict[str, Any] | None:
        """The arguments of a use of ``group``: declared, complete, actors of the role."""
        params = group.params
        ok = True
        for name in given:
            if name not in params:
                self.error((*path, "with", name), f"step group {group.name!r} has no "
                           f"parameter {name!r}", ", ".join(params) or "none")
                ok = False
        for param in params.values():
            if param.name not in given:
                if param.required:
                    self.error((*path, "with"), f"step group {group.name!r} needs parameter "
                               f"{param.name!r}")
                    ok = False
                continue
            if param.actor is not None:
                value = given[param.name]
                at = (*path, "with", param.name)
                if not isinstance(value, str):
                    self.error(at, f"parameter {param.name!r} is an actor name")
                    ok = False
                else:
                    self._check_actor(value, (param.actor,), at)
        if not ok:
            return None
        # a default may read the parameters given: chat: {default: "${ide.chat_session.id}"}
        return {p.name: given[p.name] if p.name in given else substitute(p.default, given)
                for p in params.values()}

    def _lines_below(self, path: KeyPath) -> Iterator[KeyPath]:
        """The paths with a line strictly below ``path``, without scanning every line of
        the document for every step (that was quadratic in the number of steps)."""
        if self._below is None:
            below: dict[KeyPath, list[KeyPath]] = {}
            linked: set[KeyPath] = set()
            for key in self.doc.lines:
                while key and key not in linked:
                    linked.add(key)
                    below.setdefault(key[:-1], []).append(key)
                    key = key[:-1]
            self._below = below
        pending = list(reversed(self._below.get(path, [])))
        while pending:
            key = pending.pop()
            if key in self.doc.lines:
                yield key
            pending += reversed(self._below.get(key, []))

    def _check_step(self, kind: StepKind, canonical: Canonical, path: KeyPath) -> None:
        """The kind's actor fields, matchers and own checks, on the canonical form; each
        problem reported where it was written."""
        value = canonical.value

        def at(sub: KeyPath) -> KeyPath:
            return (*path, *canonical.written(sub))

        for key, roles in kind.actors.items():
            names = _name_list(value.get(key) if isinstance(value, dict) else None, (key,))
            for name, sub in names:
                self._check_actor(name, roles, at(sub))
        if kind.check is not None and isinstance(value, dict):
            kind.check(value, lambda sub, message: self.error(at(sub), message))
        for pattern in kind.matchers:
            for sub, matcher in _expand(value, pattern):
                self._check_matcher(matcher, at(sub))

    def _check_actor(self, name: str, allowed: tuple[str, ...], at: KeyPath) -> None:
        where = at[:-1] if at and isinstance(at[-1], int) else at
        actor = self.actors.get(name)
        if actor is None:
            self.error(where, f"no actor named {name!r}", ", ".join(self.actors), at)
        elif actor.type not in allowed:
            fits = [n for n, a in self.actors.items() if a.type in allowed]
            self.error(where, f"actor {name!r} is {_article(actor.type)}, this step needs "
                       f"{' or '.join(_article(t) for t in allowed)}",
                       ", ".join(fits) or "none declared", at)

    def _check_matcher(self, value: Any, path: KeyPath) -> None:
        if value is None:
            return
        for sub, message in matchers.check(value):
            self.error((*path, *_split(sub)), message)

    def _check_refs(self, value: Any, path: KeyPath) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._check_refs(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._check_refs(item, (*path, i))
        elif isinstance(value, str):
            for expr in references(value):
                try:
                    check_reference(expr, self.spec, self.captured, self.actors,
                                    self.variables)
                except ValueError as exc:
                    self.error(path, str(exc))


def _used_at(sources: tuple[Source, ...]) -> str:
    """`` (in the step group used at g.steps.yaml:11, used at x.scenario.yaml:24)``: every
    use from the innermost out, so the line names the scenario's own file too."""
    return " (in the step group used at " + ", used at ".join(map(str, sources)) + ")"


def _shown_path(file: Path) -> Path:
    """``file`` relative to the working directory when it is below it (as users name
    scenario files), else as it is."""
    try:
        return file.relative_to(Path.cwd())
    except ValueError:
        return file


def _expand(value: Any, pattern: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    """The (path, value) pairs ``pattern`` names in ``value``; ``ANY`` stands for every
    item of a list. Absent fields are left out."""
    if not pattern:
        yield (), value
        return
    head, rest = pattern[0], pattern[1:]
    if head == ANY and isinstance(value, list):
        for i, item in enumerate(value):
            for sub, found in _expand(item, rest):
                yield (i, *sub), found
    elif isinstance(value, dict) and head in value:
        for sub, found in _expand(value[head], rest):
            yield (head, *sub), found


def _name_list(value: Any, path: KeyPath) -> list[tuple[str, KeyPath]]:
    if isinstance(value, str):
        return [(value, path)]
    if isinstance(value, list):
        return [(name, (*path, i)) for i, name in enumerate(value)]
    return []


def _split(path: str) -> KeyPath:
    parts: list[str | int] = []
    for piece in path.replace("[", ".[").split("."):
        if not piece:
            continue
        parts.append(int(piece[1:-1]) if piece.startswith("[") else piece)
    return tuple(parts)


def _article(kind: str) -> str:
    return {"ide": "an ide", "drone": "a drone", "http": "an http actor"}.get(kind, kind)
