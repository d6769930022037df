"""The selftest: proof that the scenario pack catches regressions.

    report = await run_selftest(scenarios, REGRESSIONS, environment_factory("local"))
    report.matrix.ok   # clean all green and every switch caught by a named failure

The pack runs against the clean reference relay and once per ``--regress`` switch, each in
a fresh environment; a switch counts as caught only when a failure message names the
problem (``DIAGNOSES``). See ``docs/selftest.md``.
"""

from harness.selftest.diagnoses import DIAGNOSES, Clue, Diagnosis, diagnosis_of, undiagnosed
from harness.selftest.matrix import (
    Catch,
    Matrix,
    Outcome,
    Run,
    SwitchVerdict,
    build_matrix,
    judge,
    render_grid,
    render_reasons,
    render_verdict,
)
from harness.selftest.reports import junit_tree, matrix_text, write_selftest_reports
from harness.selftest.runner import (
    SelftestReport,
    environment_factory,
    outcome_of,
    run_pack,
    run_selftest,
)

__all__ = [
    "DIAGNOSES",
    "Catch",
    "Clue",
    "Diagnosis",
    "Matrix",
    "Outcome",
    "Run",
    "SelftestReport",
    "SwitchVerdict",
    "build_matrix",
    "diagnosis_of",
    "environment_factory",
    "judge",
    "junit_tree",
    "matrix_text",
    "outcome_of",
    "render_grid",
    "render_reasons",
    "render_verdict",
    "run_pack",
    "run_selftest",
    "undiagnosed",
    "write_selftest_reports",
]
