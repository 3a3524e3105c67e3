"""Making evidence worse never makes a control look better (../shared/reference/verdicts.md).

Every evidence file of the demo estate (without its AWS and MLflow parts) is deleted, garbled, hollowed,
stripped of its metadata, demoted and stripped of one field at a time, each mutant scanned in process on
two worker processes; no control may move up the order pass > not_applicable > waived >
inconclusive = error = fail. ``python -m tests.metamorphic.run`` prints the same report by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .estate import STATUS_RANK, control_status, is_improvement
from .run import Improvement, improvements, run_suite


@pytest.mark.slow
@pytest.mark.timeout(1500)  # about 900 scans of the demo estate: minutes on a loaded 2-core machine
def test_no_mutation_improves_a_control(tmp_path: Path) -> None:
    result = run_suite(tmp_path)
    print(result.summary())
    assert result.mutants > 500, "the estate lost most of its evidence files?"
    assert not result.crashes, result.summary() + "\n" + "\n".join(result.crashes)
    assert not result.improvements, result.summary() + "\n" + result.report()


def test_the_order_of_statuses() -> None:
    ranked = sorted(STATUS_RANK, key=STATUS_RANK.__getitem__, reverse=True)
    assert ranked[:3] == ["pass", "not_applicable", "waived"]
    assert {STATUS_RANK[s] for s in ("inconclusive", "error", "fail")} == {0}
    assert is_improvement("fail", "inconclusive") is False
    assert is_improvement("waived", "pass") is True
    assert is_improvement("pass", "not_applicable") is False


def test_a_control_passing_only_by_waiver_is_waived() -> None:
    from annexa.model.findings import ControlResult, ControlStatus

    def result(status: ControlStatus, waived: int) -> ControlResult:
        counts = {"pass": 1, "fail": waived, "waived": waived}
        return ControlResult(id="A.5.3", title="", group="A.5", status=status, rules=("r",), counts=counts)

    assert control_status(result(ControlStatus.PASS, 1)) == "waived"
    assert control_status(result(ControlStatus.PASS, 0)) == "pass"
    assert control_status(result(ControlStatus.FAIL, 1)) == "fail"


def test_improvements_name_mutant_control_and_both_statuses() -> None:
    found = improvements("a.md:delete", {"A.1": "fail", "A.2": "pass"}, {"A.1": "pass", "A.2": "fail"})
    assert found == [Improvement(mutant="a.md:delete", control="A.1", before="fail", after="pass")]
    assert str(found[0]) == "a.md:delete  A.1  fail -> pass"
