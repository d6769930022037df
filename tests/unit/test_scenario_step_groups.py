"""Step groups: steps in a file of their own, used with parameters; substituted at load
time, checked like steps written in place, errors located in the group and at the use."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario.loader import load_file
from harness.scenario.stepgroups import substitute

GROUP = """\
description: The IDE opens a chat session and locks the drone.
params:
  ide: {actor: ide}
  drone: {actor: drone}
  chat: {default: "${chat_sessions[0].id}"}
steps:
  - emit:
      actor: ${ide}
      event: openChatSession
      payload: {chatSessionId: "${chat}"}
      ack: {ok: true}
  - emit:
      actor: ${ide}
      event: requestSessionLock
      payload: {registrationId: "${drones[0].id}", chatSessionId: "${chat}"}
      ack: {ok: true, lock: {$capture: lock}}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


def _scenario(folder: Path, steps: str) -> Path:
    path = folder / "case" / "x.scenario.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent("""\
        name: s
        actors:
          ide: {ide: {}}
          d0: {drone: 0}
        steps:
        """) + textwrap.indent(textwrap.dedent(steps), "  "), "utf-8")
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_file(path)
    return str(caught.value).splitlines()


def test_a_group_runs_in_place_with_its_parameters_substituted(tmp_path: Path) -> None:
    group = _write(tmp_path, "steps/open-and-lock.steps.yaml", GROUP)
    path = _scenario(tmp_path, """\
        - connect: [d0, ide]
        - use: open-and-lock
          with: {ide: ide, drone: d0}
        - expect: {actor: ide, event: x, payload: {lock: "${capture.lock}"}}
        """)
    scenario = load_file(path)[0]
    use = scenario.steps[1]
    assert use.kind == "use" and use.args.group == "open-and-lock"
    opened, locked = use.children
    assert [opened.label, locked.label] == ["2.1", "2.2"]
    assert opened.args.actor == "ide" and opened.args.event == "openChatSession"
    assert opened.args.payload == {"chatSessionId": "${chat_sessions[0].id}"}
    assert opened.source.file == group and opened.source.line == 7
    assert [str(s) for s in opened.used_at] == [f"{path}:7"]


def test_a_group_is_found_in_the_nearest_parent_folder(tmp_path: Path) -> None:
    _write(tmp_path, "steps/open-and-lock.steps.yaml", GROUP)
    near = GROUP.replace("ok: true}", "ok: true, near: 1}")
    _write(tmp_path, "case/steps/open-and-lock.steps.yaml", near)
    path = _scenario(tmp_path, "- use: open-and-lock\n  with: {ide: ide, drone: d0}\n")
    use = load_file(path)[0].steps[0]
    assert use.children[0].args.ack == {"ok": True, "near": 1}


def test_misuse_is_reported_at_the_use(tmp_path: Path) -> None:
    _write(tmp_path, "steps/open-and-lock.steps.yaml", GROUP)
    path = _scenario(tmp_path, """\
        - use: open-and-lock
          with: {ide: d0, drone: d0, colour: red}
        - use: open-and-lock
        - use: nowhere
        """)
    lines = _errors(path)
    assert any("with.colour: step group 'open-and-lock' has no parameter 'colour'" in line
               for line in lines)
    assert any("with.ide: actor 'd0' is a drone, this step needs an ide" in line
               for line in lines)
    assert any(":8: step 2 (use), field with: step group 'open-and-lock' needs parameter "
               "'ide'" in line
               for line in lines)
    assert any(":9: step 3 (use): no step group 'nowhere': looked for "
               "nowhere.steps.yaml in " in line for line in lines)
    stray = _scenario(tmp_path, "- with: {ide: ide}\n  connect: ide\n")
    assert _errors(stray) == [f"{stray}:6: step 1 (connect): 'with' needs 'use'"]


def test_an_error_inside_a_group_names_its_line_and_the_use(tmp_path: Path) -> None:
    group = _write(tmp_path, "steps/bad.steps.yaml", """\
        params: {who: {actor: drone}}
        steps:
          - emit: {actor: "${who}", event: x, ack: {$regex: "("}}
          - expect: {actor: "${who}", event: y, payload: "${capture.never}"}
        """)
    path = _scenario(tmp_path, "- use: bad\n  with: {who: d0}\n")
    lines = _errors(path)
    assert lines[0].startswith(f"{group}:3: step 1 (emit), field ack: $regex: invalid")
    assert lines[0].endswith(f"(in the step group used at {path}:6)")
    assert lines[1].startswith(f"{group}:4: step 2 (expect), field payload: "
                               "${capture.never}: no earlier step captures 'never'")


def test_a_group_file_is_checked_against_the_group_schema(tmp_path: Path) -> None:
    group = _write(tmp_path, "steps/bad.steps.yaml", """\
        params: {who: {role: drone}}
        steps: []
        """)
    path = _scenario(tmp_path, "- use: bad\n")
    lines = _errors(path)
    note = f"(in the step group used at {path}:6)"
    assert lines == [
        f"{group}:1: field params.who: unknown field 'role'; allowed: actor, default, "
        f"description {note}",
        f"{group}:2: field steps: must not be empty (at least 1) {note}"]


def test_a_group_that_uses_itself_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "steps/loop.steps.yaml", "steps:\n  - use: loop\n")
    path = _scenario(tmp_path, "- use: loop\n")
    lines = _errors(path)
    assert any("step group 'loop' uses itself (loop.steps.yaml -> loop.steps.yaml)" in line
               for line in lines)


def test_substitution_keeps_types_and_rewrites_actor_fields() -> None:
    args = {"drone": "d0", "count": 3, "chat": "${chat_sessions[1].id}"}
    assert substitute("${count}", args) == 3
    assert substitute("n=${count}", args) == "n=3"
    assert substitute("${drone.id}", args) == "${d0.id}"
    assert substitute("${drone.user.drones[1].id}", args) == "${d0.user.drones[1].id}"
    assert substitute("${chat.x}", args) == "${chat_sessions[1].id.x}"
    assert substitute({"a": ["${drone}", "${other}"]}, args) == {"a": ["d0", "${other}"]}
    assert substitute("$${drone}", args) == "$${drone}"


def test_a_group_file_edited_between_loads_is_read_again(tmp_path: Path) -> None:
    group = _write(tmp_path, "case/steps/grab.steps.yaml", GROUP)
    path = _scenario(tmp_path, "- use: grab\n  with: {ide: ide, drone: d0}\n")
    assert len(load_file(path)[0].steps[0].children) == 2
    _write(tmp_path, "case/steps/grab.steps.yaml", GROUP.replace("event: openChatSession",
                                                                 "event: 7"))
    stat = group.stat()  # the same size: a new modification time must be enough
    os.utime(group, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert any("grab.steps.yaml:" in line for line in _errors(path))  # read again, refused
    _write(tmp_path, "case/steps/grab.steps.yaml", GROUP)
    assert len(load_file(path)[0].steps[0].children) == 2
