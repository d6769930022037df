"""Hostile scenario and profile files: every one is refused in one located line, cheaply.

Regression tests for issue 13 (each failed before the fix): an alias bomb grew without
bound, a file had no size limit, a scenario no step limit, deep nesting and non-UTF-8
files ended in a traceback.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness import yamlsrc
from harness.env.profile import load_profile
from harness.errors import ConfigError, ScenarioError
from harness.scenario import loader
from harness.scenario.loader import load_file, load_paths
from harness.yamlsrc import read_documents

FILE = Path("x.scenario.yaml")
# The limits, as the messages spell them (test_the_limits_are_named_constants ties them).
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 64
MAX_STEPS = 10_000
REPO = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: hostile
actors:
  ide: {ide: {user: 0}}
  d: {drone: 0}
steps:
  - connect: [d, ide]
"""


def bomb(levels: int) -> str:
    """The reporter's file: each level a list of nine aliases of the one before."""
    names = "abcdefghi"[:levels]
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for before, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join(['*' + before] * 9)}]")
    return "\n".join(lines) + "\n"


def error_of(text: str, file: Path = FILE) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_file(file, text)
    return str(caught.value)


# -- the alias bomb -----------------------------------------------------------------------

ALIAS_LIMIT = "aliases expand to more than 10000 values in this file"


def test_alias_bomb_is_refused_at_the_alias_past_the_budget() -> None:
    # 9 ** 6 values once expanded; the builder used to walk (and line-map) every one. The
    # reporter's 9 levels are run below, in a process limited to 1 GiB.
    assert error_of(bomb(6)) == f"x.scenario.yaml:5: alias *d: {ALIAS_LIMIT}"


def test_long_text_repeated_by_aliases_is_refused() -> None:
    text = "t: &t " + "x" * 100_000 + "\n" + "l: [" + ", ".join(["*t"] * 11) + "]\n"
    assert error_of(text) == ("x.scenario.yaml:2: alias *t: aliases expand to more than "
                              "1000000 characters of text in this file")


def test_a_recursive_alias_is_refused() -> None:
    assert error_of("a: &a [1, *a]\n") == ("x.scenario.yaml:1: alias *a is inside the value "
                                          "it names (a recursive structure)")
    assert error_of("a: &a {b: {<<: *a}}\n") == ("x.scenario.yaml:1: alias *a is inside the "
                                                "value it names (a recursive structure)")


def test_aliases_and_merge_keys_within_the_budget_still_work() -> None:
    text = textwrap.dedent("""\
        name: merged
        actors:
          ide: {ide: {user: 0}}
          d: {drone: 0}
        x-emit: &emit {actor: ide, event: ping, payload: {n: 1}}
        steps:
          - connect: [d, ide]
          - emit: {<<: *emit, event: pong}
          - emit: *emit
          - emit:
              <<: [{event: first}, *emit]
              payload: {n: 2}
        """)
    documents = read_documents(FILE, text)
    steps = documents[0].data["steps"]
    assert steps[1]["emit"] == {"actor": "ide", "event": "pong", "payload": {"n": 1}}
    assert steps[2]["emit"] is documents[0].data["x-emit"]  # shared, not copied
    assert steps[3]["emit"] == {"event": "first", "actor": "ide", "payload": {"n": 2}}
    lines = documents[0].lines
    assert lines[("steps", 1, "emit", "actor")] == 8  # merged: the line of the merge
    assert lines[("steps", 1, "emit", "event")] == 8
    assert lines[("steps", 2, "emit")] == 9  # an alias: its own line, not the anchor's
    assert ("steps", 2, "emit", "actor") not in lines  # ... and not walked again
    assert lines[("steps", 3, "emit", "payload")] == 12  # written over the merged value


def test_a_merged_step_that_is_wrong_is_reported_at_the_step() -> None:
    text = SCENARIO + "  - emit: {<<: &e {actor: nobody, event: ping}}\n  - emit: *e\n"
    assert error_of(text).splitlines() == [
        "x.scenario.yaml:7: step 2 (emit), field actor: no actor named 'nobody'; allowed: "
        "ide, d",
        "x.scenario.yaml:8: step 3 (emit), field actor: no actor named 'nobody'; allowed: "
        "ide, d",
    ]


# -- file size ---------------------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    text = SCENARIO + "# " + "x" * MAX_FILE_BYTES + "\n"
    size = len(text.encode())
    assert error_of(text) == f"x.scenario.yaml: too large: {size} bytes; the limit is " \
                             "1000000 bytes"
    path = tmp_path / "big.scenario.yaml"
    path.write_text(text)
    assert error_of_path(path) == f"{path}: too large: {size} bytes; the limit is " \
                                  "1000000 bytes"


def test_a_50_mb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.scenario.yaml"
    with path.open("wb") as stream:
        stream.write(SCENARIO.encode())
        stream.truncate(50_000_000)  # sparse: no 50 MB written
    assert error_of_path(path) == f"{path}: too large: 50000000 bytes; the limit is " \
                                  "1000000 bytes"


def test_the_size_limit_counts_bytes_not_characters() -> None:
    text = SCENARIO + "# " + "é" * (MAX_FILE_BYTES // 2) + "\n"  # two bytes each
    assert error_of(text).startswith("x.scenario.yaml: too large: ")


def error_of_path(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_paths([path])
    return str(caught.value)


# -- steps -------------------------------------------------------------------------------

def test_a_scenario_over_the_step_limit_is_refused_at_the_first_step_too_many() -> None:
    text = SCENARIO + "  - crash: d\n" * MAX_STEPS
    assert error_of(text) == (f"x.scenario.yaml:{6 + MAX_STEPS}: step {MAX_STEPS + 1} "
                              f"(crash): too many steps: a scenario may have at most "
                              f"{MAX_STEPS}, groups included")


def test_steps_inside_groups_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_STEPS", 4)  # connect, parallel and two crashes
    ok = SCENARIO + "  - parallel:\n      - crash: d\n      - crash: d\n"
    assert len(load_file(FILE, ok)[0].steps) == 2
    assert error_of(ok + "      - crash: d\n") == ("x.scenario.yaml:10: step 2.3 (crash): too "
                                                   "many steps: a scenario may have at most "
                                                   "4, groups included")


# -- nesting -----------------------------------------------------------------------------

DEPTH_LIMIT = "nested too deep: more than 64 lists and mappings inside each other"


def test_yaml_nested_20000_deep_is_refused() -> None:
    assert error_of("[" * 20_000 + "]" * 20_000 + "\n") == f"x.scenario.yaml:1: {DEPTH_LIMIT}"


def test_the_depth_error_names_the_line_of_the_level_too_many() -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(MAX_DEPTH)) + " " * MAX_DEPTH + "v: 1\n"
    assert error_of(text) == f"x.scenario.yaml:{MAX_DEPTH + 1}: {DEPTH_LIMIT}"
    assert read_documents(FILE, text.replace(" " * MAX_DEPTH + "v: 1\n", ""))


def test_aliases_cannot_nest_past_the_depth_limit() -> None:
    deep = "[" * 40 + "]" * 40
    text = f"a: &a {deep}\nb: &b [{'[' * 30}*a{']' * 30}]\n"
    assert error_of(text) == f"x.scenario.yaml:2: alias *a: {DEPTH_LIMIT}"


# -- encoding ----------------------------------------------------------------------------

def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.scenario.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    assert error_of_path(path) == f"{path}: not UTF-8 text (byte 0xff at offset 6)"


def test_an_unprintable_character_is_one_line() -> None:
    assert error_of("name: a\x00b\n") == ("x.scenario.yaml:1: YAML syntax error: unacceptable "
                                          "character #x0000: special characters are not "
                                          "allowed")


@pytest.mark.parametrize(("value", "message"), [
    ("!!int x", "cannot read 'x' as int"),
    ("!!bool maybe", "cannot read 'maybe' as bool"),
    ("!!timestamp x", "cannot read 'x' as timestamp"),
    ("2024-13-01", "cannot read '2024-13-01' as timestamp"),
    ("9" * 5000, "cannot read '" + "9" * 56 + "... as int"),
])
def test_values_pyyaml_cannot_build_are_one_line(value: str, message: str) -> None:
    assert error_of(f"name: n\ndescription: {value}\n") == f"x.scenario.yaml:2: {message}"


def test_an_escaped_lone_surrogate_is_refused() -> None:
    # It would load, then fail to print (UnicodeEncodeError) wherever the name is shown.
    assert error_of('name: "drone \\ud800"\n') == ("x.scenario.yaml:1: 'drone \\ud800' holds "
                                                   "\\ud800, a lone surrogate, not a "
                                                   "character")
    assert read_documents(FILE, 'name: "\\U0001F600 \\u00e9"\n')[0].data == {"name": "😀 é"}


def test_a_plain_equals_sign_is_text() -> None:
    assert read_documents(FILE, "=: =\n")[0].data == {"=": "="}


def test_a_value_with_a_line_break_keeps_the_error_on_one_line() -> None:
    text = SCENARIO + '  - name: "two\\nlines"\n    crash: nobody\n'
    assert error_of(text) == ('x.scenario.yaml:8: step 2 (crash "two lines"): no actor named '
                              "'nobody'; allowed: ide, d")


# -- relay profiles go through the same reader -----------------------------------------

def profile_error(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "relay.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    return str(caught.value).replace(str(path), "relay.yaml")


def test_relay_profiles_have_the_same_limits(tmp_path: Path) -> None:
    assert profile_error(tmp_path, bomb(6)) == f"relay.yaml:5: alias *d: {ALIAS_LIMIT}"
    assert profile_error(tmp_path, "[" * 20_000 + "]" * 20_000) == \
        f"relay.yaml:1: {DEPTH_LIMIT}"
    big = "image: x\n# " + "x" * MAX_FILE_BYTES + "\n"
    assert profile_error(tmp_path, big) == \
        f"relay.yaml: too large: {len(big)} bytes; the limit is 1000000 bytes"


def test_a_relay_profile_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    assert profile_error(tmp_path, b"image: \xff\n") == \
        "relay.yaml: not UTF-8 text (byte 0xff at offset 7)"


# -- the command line --------------------------------------------------------------------

# The harness in a process limited to 1 GiB of address space: the bomb used to take 3 GB.
_LIMITED = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from harness.cli import main
sys.exit(main(sys.argv[1:]))
"""


def limited_harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _LIMITED, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_the_cli_refuses_the_bomb_in_one_line_within_1_gib(tmp_path: Path,
                                                           command: str) -> None:
    path = tmp_path / "bomb.scenario.yaml"
    path.write_text(bomb(9))
    result = limited_harness(command, str(path))
    error = f"{path}:5: alias *d: {ALIAS_LIMIT}"
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    if command == "run":  # a ScenarioError from loading: harness.cli prints it, exits 2
        assert (result.returncode, lines) == (2, [f"error: {error}"])
    else:  # validate reports each bad file, then how many
        assert result.returncode in (1, 2)
        assert lines[0] == error
        assert lines[1:] in ([], ["1 of 1 file(s) invalid"])


@pytest.mark.parametrize(("content", "message"), [
    (b"name: \xff\xfe\n", "{path}: not UTF-8 text (byte 0xff at offset 6)"),
    (b"[" * 20_000 + b"]" * 20_000, f"{{path}}:1: {DEPTH_LIMIT}"),
], ids=["not-utf8", "nested-20000-deep"])
def test_the_cli_run_prints_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "hostile.scenario.yaml"
    path.write_bytes(content)
    result = limited_harness("run", str(path))
    assert (result.returncode, result.stderr.splitlines()) == \
        (2, ["error: " + message.format(path=path)])


def test_the_limits_are_named_constants() -> None:
    assert (yamlsrc.MAX_FILE_BYTES, yamlsrc.MAX_DEPTH, yamlsrc.MAX_ALIAS_VALUES,
            yamlsrc.MAX_ALIAS_TEXT, loader.MAX_STEPS) == (1_000_000, 64, 10_000, 1_000_000,
                                                          10_000)


def test_libyaml_and_pyyaml_read_the_pack_alike() -> None:
    # The fast path (libyaml's events) must give what PyYAML's own parser gives: the same
    # data and the same line for every value, for every file of the pack.
    assert yamlsrc._FastLoader is not None
    files = sorted(Path(__file__).resolve().parents[2].glob("scenarios/**/*.yaml"))
    assert len(files) > 50
    for file in files:
        text = file.read_text(encoding="utf-8")
        fast = yamlsrc._fast_nodes(file, text)
        assert fast is not None, file
        slow = yamlsrc._nodes(file, text)
        built = [(yamlsrc._Builder(file, yamlsrc._Budget()), node) for node in (fast, slow)]
        fast_data, slow_data = (builder.build(nodes[0]) for builder, nodes in built)
        assert fast_data == slow_data, file
        assert built[0][0].lines == built[1][0].lines, file


def test_text_libyaml_refuses_is_worded_by_pyyaml() -> None:
    text = "name: x\nsteps: [a, b\n"
    assert yamlsrc._fast_nodes(Path("x.yaml"), text) is None
    with pytest.raises(ScenarioError) as caught:
        read_documents(Path("x.yaml"), text)
    assert str(caught.value).startswith("x.yaml:3: YAML syntax error:")
