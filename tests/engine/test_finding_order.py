"""The evaluator sorts findings per rule, with the control's key computed once: the same order as
sort_findings, the straightforward reference, including defective items and empty selections."""

from __future__ import annotations

import dataclasses

from conftest import ALL_COLLECTED, NOW, build, ev

from annexa.lang.language import evaluate
from annexa.model.findings import sort_findings

RULES = """control A.10.2 "ten" {
  rule b_second { for each x in svc require x.n >= 1 }
  rule a_first { for each x in svc where x.on require age(x.created) <= 30d }
}
control A.9.2 "nine" {
  rule cards { for each c in model_card require c.n == null }
  rule svc_named { for each x in svc require x.name != null message "{x.name}" }
}
"""


def test_findings_come_out_in_sort_findings_order() -> None:
    items = [
        ev(
            "svc",
            f"s{n}",
            {"n": n % 3, "on": n % 2 == 0, "created": "2026-11-01"} | ({"name": "x"} if n % 4 else {}),
        )
        for n in range(12, 0, -1)
    ]
    items.append(dataclasses.replace(ev("svc", "s5", {}), defect="garbled"))
    items.append(ev("model_card", "c1", {"n": 1}))
    found = evaluate(build(RULES), items, now=NOW, collected=ALL_COLLECTED)
    assert found == sort_findings(found)
    assert found[0].control_id == "A.9.2"
    assert {f.rule_id.split("/")[1] for f in found} == {"b_second", "a_first", "cards", "svc_named"}
    dated = next(f for f in found if f.rule_id.endswith("a_first"))
    assert dated.witness == {"x.on": True, "x.created": "2026-11-01"}


def test_items_of_one_source_are_taken_in_id_order() -> None:
    items = [ev("svc", "dup", {"n": n, "name": f"v{n}"}) for n in range(6)] + [ev("svc", "a", {"n": 9})]
    found = evaluate(build(RULES), items, now=NOW, collected=ALL_COLLECTED)
    cited = [f.evidence[0].id for f in found if f.rule_id.endswith("b_second") and f.subject == "dup"]
    assert cited == sorted(item.id for item in items if item.source == "dup")
