"""What an ack was expected to be, and a headline that names the actual mismatch. Pure.

An ack is ``{"ok": true, ...}`` or ``{"ok": false, "error": code, "message": text}``
(contract section 1). A headline says which of these was expected and which arrived
("expected ok, got refused drone-offline"), or, when both are of the same kind, the first
field that differs; it never guesses the kind from the matcher's spelling.
"""

from __future__ import annotations

from typing import Any, Literal

from harness.outcome.facts import Fact
from harness.outcome.findings import Mismatch
from harness.outcome.wording import sentence
from harness.scenario.matchers import is_matcher
from harness.text import short

Kind = Literal["ok", "refused"]


def expected_kind(expected: Any) -> Kind | None:
    """``ok`` or ``refused`` when every answer ``expected`` admits is of that kind, else
    None (an expectation such as ``{$any: true}`` or a ``$one_of`` of both kinds)."""
    kinds = _kinds(expected)
    return next(iter(kinds)) if len(kinds) == 1 else None


def _kinds(expected: Any) -> set[Kind]:
    both: set[Kind] = {"ok", "refused"}
    if not isinstance(expected, dict):
        return both
    if is_matcher(expected):
        found = both
        for op, arg in expected.items():
            if op in ("$exact", "$subset"):
                found = found & _kinds(arg)
            elif op == "$one_of" and isinstance(arg, list):
                found = found & set().union(*(_kinds(a) for a in arg))
        return found
    ok = expected.get("ok")
    if ok is True:
        return {"ok"}
    if ok is False or "error" in expected:
        return {"refused"}
    return both


def expected_codes(expected: Any) -> list[str]:
    """The error codes ``expected`` admits (plain or ``$one_of`` alternatives), in order."""
    if not isinstance(expected, dict):
        return []
    if is_matcher(expected):
        codes: list[str] = []
        for op, arg in expected.items():
            if op in ("$exact", "$subset"):
                codes += expected_codes(arg)
            elif op == "$one_of" and isinstance(arg, list):
                for alternative in arg:
                    codes += expected_codes(alternative)
        return list(dict.fromkeys(codes))
    error = expected.get("error")
    if isinstance(error, str):
        return [error]
    alternatives = error.get("$one_of") if isinstance(error, dict) else None
    if isinstance(alternatives, list):
        return [c for c in alternatives if isinstance(c, str)]
    return []


def answer_kind(answer: Any) -> Kind | None:
    """``ok`` / ``refused`` for a well-formed ack, None for anything else."""
    if isinstance(answer, dict) and answer.get("ok") is True:
        return "ok"
    if isinstance(answer, dict) and answer.get("ok") is False:
        return "refused"
    return None


def refusal_text(answer: Any) -> str:
    """``refused 'drone-offline' ("drone ... is offline")``."""
    code = answer.get("error") if isinstance(answer, dict) else None
    message = answer.get("message") if isinstance(answer, dict) else None
    return f"refused {code!r}" + (f" ({message!r})" if message else "")


def ack_kind(event: str, who: str, expected: Any, answer: Any) -> Fact | None:
    """The ack of ``event`` was another answer than ``expected``: ok for a refusal, a
    refusal for ok, or a refusal with another code; None otherwise."""
    want, got = expected_kind(expected), answer_kind(answer)
    codes = expected_codes(expected)
    wanted_refusal = "refused " + " or ".join(repr(c) for c in codes) if codes else "a refusal"
    shown: tuple[str, str] | None = None
    if want == "ok" and got == "refused":
        shown = "ok", refusal_text(answer)
    elif want == "refused" and got == "ok":
        shown = wanted_refusal, f"ok {short(answer)}"
    elif got == "refused" and codes and answer.get("error") not in codes:
        shown = wanted_refusal, refusal_text(answer)
    if shown is None:
        return None
    error = answer.get("error") if got == "refused" else None
    return Fact("ack-answer", event=event, who=who, expected=shown[0], got=shown[1],
                want=want, have=got, error=None if error is None else str(error))


def ack_headline(event: str, who: str, expected: Any, answer: Any,
                 mismatches: tuple[Mismatch, ...]) -> str:
    """One line naming how the ack of ``event`` sent by ``who`` differs from ``expected``."""
    kind = ack_kind(event, who, expected, answer)
    if kind is not None:
        return sentence(kind)
    want, got = expected_kind(expected), answer_kind(answer)
    codes = expected_codes(expected)
    wanted_refusal = "refused " + " or ".join(repr(c) for c in codes) if codes else "a refusal"
    head = f"the ack of {event} from {who}"
    if got is None:
        shown = "no payload" if answer is None else short(answer)
        wanted = {"ok": "ok", "refused": wanted_refusal}.get(want or "", "an ack object")
        return f"{head}: expected {wanted}, got {shown} (not an ack object)"
    first = f": {mismatches[0]}" if mismatches else ""
    more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
    return f"{head} did not match{first}{more}"
