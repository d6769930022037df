"""Hostile scenario files (issue 13): loading one raises ``ScenarioError`` or nothing.

Inputs:

* random YAML: the pack's scenarios with one value replaced by random data, a key dropped
  or a step grouped; data shaped like a scenario (its keys, step kinds, matchers) and
  arbitrary nested data; all dumped with ``yaml.safe_dump``; raw text from YAML's own
  punctuation; arbitrary text;
* the pack's own files in ``scenarios/``, mutated: lines deleted, duplicated or swapped, a
  value replaced, the file cut short, a character inserted, an anchor and an alias (or a
  merge key) added.

Properties:

* ``load_file(Path("x.scenario.yaml"), text)`` returns scenarios or raises
  ``ScenarioError``, nothing else; every line of its message starts with
  ``x.scenario.yaml:`` (one line per problem, none split by a value holding a line break);
* through the real command line (``harness validate``, a subprocess each, the file as
  bytes, so not always UTF-8): no traceback, exit 0 for a valid file, else a non-zero
  exit whose every line names the file or counts the invalid files.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _harness_cli import REPO
from hypothesis import event, given, settings
from hypothesis import strategies as st

from harness.errors import ScenarioError
from harness.scenario.kinds import STEP_KINDS
from harness.scenario.loader import load_file
from harness.scenario.matchers import OPERATORS

NAME = "x.scenario.yaml"
# Where the in-process tests pretend the file is: beside the pack, so step groups are found.
IN_PACK = REPO / "scenarios" / "fuzz" / NAME
PACK = {path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((REPO / "scenarios").rglob("*.scenario.yaml"))}

# -- the property ------------------------------------------------------------------------


def check_loads_or_refuses(text: str) -> str:
    """Only ``ScenarioError`` escapes, and every line of it names the file; the outcome."""
    try:
        scenarios = load_file(IN_PACK, text)
    except ScenarioError as exc:
        message = str(exc)
        lines = message.splitlines()
        assert lines, "an empty error message"
        for line in lines:  # an error inside a step group names the group and the use
            assert line.startswith(f"{IN_PACK}:") or f"used at {IN_PACK}:" in line, \
                f"a line not naming the file: {line!r}"
        return "refused: " + _kind_of(lines[0])
    assert scenarios
    return "loaded"


def _kind_of(line: str) -> str:
    """A coarse class of an error line, for --hypothesis-show-statistics."""
    for kind in ("YAML syntax error", "duplicate key", "alias", "nested too deep",
                 "too large", "too many steps", "merge key", "mapping key",
                 "no scenario in this file", "cannot read", "unknown step kind",
                 "unknown field", "missing field", "no actor named", "must be"):
        if kind in line:
            return kind
    return "other"


# -- (a) random YAML -----------------------------------------------------------------------

_VOCABULARY = ["name", "description", "tags", "world", "timeout", "settle", "actors",
               "steps", "expect_violations", "reference_only", "users", "drones_per_user",
               "ide", "drone", "http", "user", "index", "token", "transport", "behaviour",
               "actor", "event", "payload", "ack", "events", "refused", "method", "path",
               "expect", "status", "body", "registration", "work_order", "locked_by",
               "document", "size", "db", "sessions", "idle", "<<", *STEP_KINDS, *OPERATORS]

_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
            | st.sampled_from(["${drones[0].id}", "${capture.x}", "${relay.drone_ack_timeout}",
                               "${nope", "ide", "d0", "websocket", "polling", "2024-01-01",
                               "0x1F", "1_000", "1:20", ".inf", "~", "yes", "<<", "*a", "&a"]))
_keys = st.sampled_from(_VOCABULARY) | st.text(max_size=10)
_anything = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)
_step = st.builds(lambda kind, args, name: {kind: args} | ({"name": name} if name else {}),
                  st.sampled_from(STEP_KINDS), _anything, st.none() | st.text(max_size=12))
_actor = st.one_of(
    st.fixed_dictionaries({"ide": st.fixed_dictionaries({"user": st.integers(-1, 3)})}),
    st.fixed_dictionaries({"drone": st.integers(-1, 3) | _anything}),
    st.fixed_dictionaries({"http": _anything}),
    st.dictionaries(_keys, _anything, max_size=3),
)
_scenario = st.fixed_dictionaries(
    {"name": st.text(max_size=15) | st.integers(),
     "actors": st.dictionaries(st.sampled_from(["ide", "d0", "d1", "api"]) | st.text(max_size=5),
                               _actor, max_size=3),
     "steps": st.lists(_step | _anything, max_size=5)},
    optional={"world": st.dictionaries(_keys, _anything, max_size=3) | _anything,
              "tags": _anything, "timeout": _scalars, "description": _scalars},
)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


_YAML_PUNCTUATION = "[]{}:-&*!|>'\"#%@`,?<= \n\t\\x0a"
PACK_DATA = [doc for text in PACK.values() for doc in yaml.safe_load_all(text)]


@st.composite
def pack_data_changed(draw: st.DrawFn) -> str:
    """A scenario of the pack with one value replaced, one key dropped or one step grouped:
    near-valid data, so the checks past the schema run too."""
    data = copy.deepcopy(draw(st.sampled_from(PACK_DATA)))
    slots = list(_slots(data))
    container, key = draw(st.sampled_from(slots))
    how = draw(st.sampled_from(["replace", "drop", "group"]))
    if how == "drop":
        del container[key]
    elif how == "group":
        container[key] = {draw(st.sampled_from(["parallel", "sequence", "either"])):
                          [container[key], container[key]]}
    else:
        container[key] = draw(_anything)
    return _dump(data)


def _slots(data: Any) -> Any:
    """Every (container, key) of ``data``, nested ones too."""
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    for key, value in items:
        yield data, key
        yield from _slots(value)


@given(st.one_of(pack_data_changed(), _scenario.map(_dump), _anything.map(_dump),
                 st.lists(_scenario, min_size=2, max_size=3).map(
                     lambda docs: "---\n".join(_dump(doc) for doc in docs)),
                 st.text(alphabet=_YAML_PUNCTUATION, max_size=80),
                 st.text(max_size=80)))
def test_random_yaml_loads_or_is_refused_in_lines_naming_the_file(text: str) -> None:
    event(check_loads_or_refuses(text))


# -- (b) the pack's files, mutated ----------------------------------------------------------

_VALUE = re.compile(r"(?<=: )[^\s{\[&*|>][^#\n]*$", re.MULTILINE)
_REPLACEMENTS = st.sampled_from([
    "", "~", "-1", "0", "1e999", "9" * 5000, "!!int x", "!!binary zz", "2024-13-01", "'",
    '"\\x"', "[", "{", "*missing", "&a", "!!python/object:os.system x", '"two\\nlines"',
    "${", "${nope}", "${drones[99].id}", "{$regex: '('}", "{$len: -1}", "[[[[[]]]]]",
    "{<<: 1}", "\t", "é", "\x85", "\u2028", '"\\ud800"', "=",
]) | st.text(max_size=12)


@st.composite
def mutated_pack_file(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(sorted(PACK)).map(PACK.__getitem__))
    for _ in range(draw(st.integers(1, 3))):
        text = _mutate(draw, text)
    return text


def _mutate(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    at = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "truncate",
                                "insert", "alias", "merge"]))
    event("mutation: " + how)
    if how == "delete":
        del lines[at]
    elif how == "duplicate":
        lines.insert(at, lines[at])
    elif how == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    elif how == "replace":
        values = list(_VALUE.finditer(text))
        if values:
            match = draw(st.sampled_from(values))
            new = draw(_REPLACEMENTS)
            return text[:match.start()] + new + text[match.end():]
    elif how == "truncate":
        return text[:draw(st.integers(0, len(text)))]
    elif how == "insert":
        where = draw(st.integers(0, len(text)))
        return text[:where] + draw(st.characters()) + text[where:]
    elif how in ("alias", "merge"):
        return _with_alias(draw, text, merge=how == "merge")
    return "\n".join(lines)


def _with_alias(draw: st.DrawFn, text: str, merge: bool) -> str:
    """An anchor on one value and an alias to it (or a merge key ``<<: *z``) later."""
    values = list(re.finditer(r"(?<=: )(?=\S)", text))
    if not values:
        return text
    first = draw(st.integers(0, len(values) - 1))
    anchor = values[first].start()
    text = text[:anchor] + "&z " + text[anchor:]
    if merge:
        lines = text.split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        indent = len(lines[at]) - len(lines[at].lstrip(" -"))
        lines.insert(at, " " * indent + "<<: *z")
        return "\n".join(lines)
    later = list(_VALUE.finditer(text, anchor + 3))
    if later:
        match = draw(st.sampled_from(later))
        text = text[:match.start()] + "*z" + text[match.end():]
    return text


@given(mutated_pack_file())
def test_mutated_pack_files_load_or_are_refused_in_lines_naming_the_file(text: str) -> None:
    event(check_loads_or_refuses(text))


def test_the_pack_is_found_and_loads() -> None:
    assert len(PACK) > 30
    for text in PACK.values():
        assert check_loads_or_refuses(text) == "loaded"


# -- (c) the command line ----------------------------------------------------------------

_bytes = st.one_of(
    mutated_pack_file().map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.tuples(mutated_pack_file(), st.binary(min_size=1, max_size=3)).map(
        lambda pair: pair[0].encode("utf-8", "surrogatepass")[:200] + pair[1]),
    st.sampled_from(sorted(PACK)).map(lambda name: PACK[name].encode()),
)


@settings(max_examples=5)  # a process each (~1.5 s): the in-process tests above do the bulk
@given(_bytes)
def test_harness_validate_never_shows_a_traceback(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / NAME
        path.write_bytes(content)
        result = subprocess.run([sys.executable, "-m", "harness.cli", "validate", str(path)],
                                cwd=REPO, capture_output=True, text=True, timeout=60,
                                check=False, errors="replace")
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    event(f"exit {result.returncode}")
    if result.returncode == 0:
        assert result.stdout.startswith("ok: ")
        return
    assert result.returncode in (1, 2)  # 1: invalid files (validate), 2: harness.cli
    for line in result.stderr.splitlines():
        assert line.startswith((str(path) + ":", "error: " + str(path) + ":")) \
            or re.fullmatch(r"\d+ of \d+ file\(s\) invalid", line), line
