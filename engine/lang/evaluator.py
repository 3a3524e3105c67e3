"""Evaluate a compiled rule set over evidence: one finding per subject, pure and deterministic.

No I/O and no clock: the caller passes ``now``. Items are grouped by kind once and hash indexes for joins
are built once per evaluation and shared by every rule that joins on the same field.
"""

from __future__ import annotations

import dataclasses
import gc
import heapq
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from annexa.lang import wording
from annexa.lang.runtime import NULL_KEYS, OTHER_KEYS, UNINDEXED, RuleFault, witness_value
from annexa.model.evidence import Evidence, EvidenceRef
from annexa.model.findings import Finding, Status, control_sort_key, new_finding

NOT_CONFIGURED = "no configured collector produced it"
"""Why a kind was not collected when no configured collector produces it (the text report sums these up)."""
NOT_COLLECTED_PREFIX = "evidence not collected ("

if TYPE_CHECKING:
    from annexa.lang.ruleset import CompiledRule, RuleSet

Pair = tuple[Mapping[str, Any], Evidence]


class _Index(dict[tuple[str, tuple[str | int, ...], bool], dict[Any, list[Pair]]]):
    """Hash indexes over one evaluation's evidence, built on first use and shared by every rule.

    ``(kind, path)`` maps each scalar value at ``path`` to the items holding it; with ``member`` the value
    is a list and every scalar element is a key (for ``outer in inner.list``). Items whose value cannot
    be a key (null, an object) are left out; :func:`annexa.lang.runtime.join_candidates` keeps them as
    candidates so that three-valued results stay right.

    Generated code looks an index up as ``INDEX[(kind, path, member)]``, a dictionary lookup, once per
    outer item of every join; ``__missing__`` builds it the first time.
    """

    def __init__(self, items: Mapping[str, list[Pair]], totals: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self._items = items
        self._totals = totals or {}

    def total(self, kind: str) -> int:
        """How many sound items of ``kind`` were collected: those loaded, or as many as ``totals`` says
        where only part of the kind is (streamed evaluation loads documents by type)."""
        total = self._totals.get(kind)
        return len(self._items.get(kind, ())) if total is None else total

    def __call__(self, kind: str, keys: tuple[str | int, ...], member: bool = False) -> dict[Any, list[Pair]]:
        return self[(kind, keys, member)]

    def __missing__(self, key: tuple[str, tuple[str | int, ...], bool]) -> dict[Any, list[Pair]]:
        kind, keys, member = key
        index: dict[Any, list[Pair]] = {}
        unknown: list[Pair] = []  # null or unusable key: the join's condition decides on these
        nulls: list[Pair] = []  # the part of them whose key is null (missing)
        others: list[Pair] = []  # and the rest: a list or an object where a scalar was expected
        for pair in self._items.get(kind, ()):
            value: Any = pair[0]
            for part in keys:
                if type(value) is dict and type(part) is str:  # nearly always: no ABC check
                    value = value.get(part)
                else:
                    value = value.get(part) if isinstance(value, Mapping) and isinstance(part, str) else None
                if value is None:
                    break
            if member and isinstance(value, list):
                for element in dict.fromkeys(v for v in value if isinstance(v, _KEY_TYPES)):
                    _add(index, element, pair)
            elif not member and isinstance(value, _KEY_TYPES):
                _add(index, value, pair)
            else:
                unknown.append(pair)
                (nulls if value is None else others).append(pair)
        if unknown:
            index[UNINDEXED] = unknown
            index[NULL_KEYS] = nulls
            index[OTHER_KEYS] = others
        self[key] = index
        return index


_KEY_TYPES = (str, int, float, bool)


def _add(index: dict[Any, list[Pair]], key: Any, pair: Pair) -> None:
    # A key's first item makes a list of exactly one (most keys of an index on ids have one item): 24
    # bytes less than an empty list appended to, and no empty list made and dropped per item.
    found = index.get(key)
    if found is None:
        index[key] = [pair]
    else:
        found.append(pair)


def evaluate(
    ruleset: RuleSet,
    evidence: Iterable[Evidence],
    *,
    now: datetime,
    collected: Mapping[str, str | None] | None = None,
    gaps: Mapping[str, Sequence[str]] | None = None,
) -> tuple[Finding, ...]:
    """Evaluate every rule of ``ruleset``.

    ``collected`` maps each evidence kind that collection attempted to None (collected) or to the
    collector's error. Kinds missing from it were not collected, so rules reading them are inconclusive.
    When ``collected`` is None, every kind present in ``evidence`` counts as collected. ``gaps`` maps a
    kind to the parts of it that could not be collected (one account, one unreadable item): a rule reading
    it can still fail on what was collected, but its passes become inconclusive.
    """
    # Evaluation allocates millions of short-lived objects (witnesses, findings) and almost no cycles,
    # over evidence that outlives it. The evidence is frozen (left out of collections) and a collection
    # runs every 10,000 allocations instead of 700; both undone on return. Over 100,000 items: 12.4-13.6 s
    # of evaluation CPU against 15.2-16.0 s with the default thresholds (the freeze alone: 15.2 s).
    thresholds = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0  # a caller's own freeze is left alone
    if freeze:
        gc.freeze()
    gc.set_threshold(max(thresholds[0], 10_000), max(thresholds[1], 10), max(thresholds[2], 10))
    try:
        return _evaluate(ruleset, evidence, now=now, collected=collected, gaps=gaps, freeze=freeze)
    finally:
        gc.set_threshold(*thresholds)
        if freeze:
            gc.unfreeze()


def _evaluate(
    ruleset: RuleSet,
    evidence: Iterable[Evidence],
    *,
    now: datetime,
    collected: Mapping[str, str | None] | None,
    gaps: Mapping[str, Sequence[str]] | None,
    freeze: bool = False,
) -> tuple[Finding, ...]:
    wanted = ruleset.kinds_read
    loaded = load(evidence, wanted)
    if collected is None:
        collected = {kind: None for kind in wanted if loaded.items[kind] or kind in loaded.defective}
    findings: list[Finding] = []
    # Findings are sorted by (control, rule, subject) as sort_findings does, but the key of the first two
    # is computed once per rule, not once per finding: rules in key order, each rule's findings by subject
    # (a stable sort of a list that is mostly in subject order already, the items being sorted by source).
    # Where evaluate owns the freeze, a rule runs with collections paused and what it leaves (its findings)
    # joins the evidence in the freeze: a collection would only have walked findings that all live on,
    # each of them once or twice more (10 predicates x 100,000 items: 3.3-3.5 -> 2.7-2.9 s CPU). Rule code
    # makes no reference cycles; any it made would be collected once evaluate undoes the freeze.
    enabled = gc.isenabled()
    for rule in sorted(ruleset.rules, key=lambda rule: (control_sort_key(rule.control_id), rule.id)):
        if freeze:
            gc.disable()
        try:
            findings.extend(rule_findings(rule, loaded, now=now, collected=collected, gaps=gaps))
        finally:
            if freeze:
                gc.freeze()
                if enabled:
                    gc.enable()
    return tuple(findings)


@dataclasses.dataclass(frozen=True, slots=True)
class Loaded:
    """Evidence as rule functions read it: the sound items of each kind as (data, item) pairs and the
    defective ones apart, each sorted by (source, id), and the join indexes (built on first use)."""

    items: dict[str, list[Pair]]
    defective: dict[str, list[Evidence]]
    index: _Index


def load(
    evidence: Iterable[Evidence], kinds: Iterable[str], totals: Mapping[str, int] | None = None
) -> Loaded:
    """The items of ``kinds`` in ``evidence``, ready for :func:`rule_findings`. ``totals``: how many sound
    items of a kind there are, where ``evidence`` holds only some of them (what a finding reports)."""
    items: dict[str, list[Pair]] = {kind: [] for kind in kinds}
    defective: dict[str, list[Evidence]] = {}
    for item in evidence:
        bucket = items.get(item.kind)
        if bucket is None:
            continue
        if item.defect is not None:
            defective.setdefault(item.kind, []).append(item)
        else:
            bucket.append((item.data, item))
    # By (source, id): the id (a SHA-256 of the item's canonical JSON) only breaks ties between items of one
    # source, so it is computed only for those; the others' ids wait until a finding cites them.
    for bucket in items.values():
        twice = _repeated(pair[1].source for pair in bucket)
        bucket.sort(key=lambda pair: (pair[1].source, pair[1].id if pair[1].source in twice else ""))
    for broken in defective.values():
        twice = _repeated(item.source for item in broken)
        broken.sort(key=lambda item: (item.source, item.id if item.source in twice else ""))
    return Loaded(items, defective, _Index(items, totals))


def ready(loaded: Loaded, rules: Iterable[CompiledRule]) -> None:
    """Generate and compile the code of ``rules`` and build the join indexes it looks up, now rather than
    on first use: processes forked afterwards share them instead of each doing it again."""
    for rule in rules:
        rule.code.function  # noqa: B018  # generated and compiled on first use
        for key in rule.code.indexes:
            loaded.index[key]  # built on first use


def rule_findings(
    rule: CompiledRule,
    loaded: Loaded,
    *,
    now: datetime,
    collected: Mapping[str, str | None],
    gaps: Mapping[str, Sequence[str]] | None,
) -> list[Finding]:
    """One rule's findings, sorted by subject: what it decided, its passes made inconclusive where a kind
    it reads has gaps, and a failing finding per defective item of a kind it reads."""
    found = _evaluate_rule(rule, loaded.items, loaded.index, now, collected)
    if gaps and any(gaps.get(kind) for kind in rule.kinds):
        found = _account_for_gaps(rule, found, gaps)
    found.extend(_defect_findings(rule, loaded.defective, collected))
    _sort_by_subject(found)
    return found


def _repeated(sources: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for source in sources:
        (twice if source in seen else seen).add(source)
    return twice


def _subject_key(finding: Finding) -> str:
    return finding.subject or ""


_SUBJECT = attrgetter("subject")


def _sort_by_subject(findings: list[Finding]) -> None:
    """``findings.sort(key=_subject_key)``, the keys read in C when no finding is about the whole estate."""
    findings.sort(key=_subject_key if None in map(_SUBJECT, findings) else _SUBJECT)


def _defect_findings(
    rule: CompiledRule, defective: Mapping[str, list[Evidence]], collected: Mapping[str, str | None]
) -> list[Finding]:
    """A failing finding per defective item of every kind the rule reads (verdicts.md: broken evidence).

    The item exists but cannot be read, so nothing it would have shown can be taken as shown: the rule
    fails on it, citing the defect, whether or not the item would have been selected.
    """
    return [
        _finding(
            rule,
            Status.FAIL,
            f"{item.kind} {item.source} cannot be used as evidence: {item.defect}",
            item.source,
            evidence=(item.ref(),),
            note="defective evidence fails every rule that reads its kind; repair or remove it",
        )
        for kind in sorted(rule.kinds)
        if collected.get(kind, "") is None
        for item in defective.get(kind, ())
    ]


def _account_for_gaps(
    rule: CompiledRule, findings: list[Finding], gaps: Mapping[str, Sequence[str]]
) -> list[Finding]:
    """Findings over partly collected evidence, made honest about what is missing.

    A kind that ``exists``, ``all`` or ``count`` ranges over may lack the very item that decides, so
    every verdict of the rule becomes inconclusive. A gap in the ``for each`` kind leaves the verdicts on
    the collected subjects standing (each rests on its own item) but the missing subjects are unassessed:
    an inconclusive finding says so, and replaces "nothing to check" or a short ``expect at least``.
    """
    inner = {kind: gaps[kind] for kind in sorted(rule.quantified_kinds) if gaps.get(kind)}
    if inner:
        note = f"evidence incomplete ({_gap_text(inner)}); the missing items may decide this rule"
        return [
            dataclasses.replace(finding, status=Status.INCONCLUSIVE, note=note)
            if finding.status in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE)
            else finding
            for finding in findings
        ]
    assert rule.subject_kind is not None  # a gapped kind the rule reads but does not quantify over
    why = _gap_text({rule.subject_kind: gaps[rule.subject_kind]})
    kept = [finding for finding in findings if finding.subject is not None]
    kept.append(
        _finding(
            rule,
            Status.INCONCLUSIVE,
            f"some {rule.subject_kind} items could not be collected, so they were not assessed ({why})",
            None,
            note="absence of evidence is never a pass",
        )
    )
    return kept


def _gap_text(gaps: Mapping[str, Sequence[str]]) -> str:
    return "; ".join(f"{kind}: {'; '.join(reasons)}" for kind, reasons in gaps.items())


def _evaluate_rule(
    rule: CompiledRule,
    items: Mapping[str, list[Pair]],
    index: _Index,
    now: datetime,
    collected: Mapping[str, str | None],
) -> list[Finding]:
    missing_kinds = sorted(
        kind for kind in rule.kinds if kind not in collected or collected[kind] is not None
    )
    if missing_kinds:
        reasons = "; ".join(f"{kind}: {collected.get(kind) or NOT_CONFIGURED}" for kind in missing_kinds)
        return [
            _finding(
                rule,
                Status.INCONCLUSIVE,
                f"{NOT_COLLECTED_PREFIX}{reasons})",
                None,
                note="absence of evidence is never a pass",
            )
        ]
    findings: list[Finding] = []
    append = findings.append
    # A finding is a tuple of its fields in declaration order (annexa.model.findings.new_finding), built
    # here in one step; what every finding of the rule shares is bound once.
    rule_id, control_id, title, severity = rule.id, rule.control_id, rule.title, rule.severity
    span, remediation, weight = rule.span, rule.remediation, rule.weight
    passed, failed = Status.PASS, Status.FAIL

    def emit(
        subject: Evidence | None,
        result: bool | None,
        witness: dict[str, Any],
        used: list[Evidence],
        message: str | None,
        fault: RuleFault | None,
        closest: tuple[list[Candidate], ...] | None = None,
    ) -> None:
        # The hot path of evaluation (one call per subject and rule): no dictionary or sort unless needed.
        # The witness dictionary is the rule function's own, fresh for each subject, so it is kept as is
        # unless it holds a null (a missing field) or a date or a duration (stored as text).
        if closest:
            nearest, near_refs = _closest(rule, closest)
            if nearest:
                message = f"{message or title}; {nearest}"
                used = [*used, *near_refs]
        refs = (used[0].ref(),) if len(used) == 1 else _refs(used)
        missing: tuple[str, ...] = ()
        if not _PLAIN.issuperset(map(type, witness.values())):  # in C; nearly always plain values
            for value in witness.values():
                if value is None or isinstance(value, _RENDERED):
                    missing = tuple(sorted(path for path, value in witness.items() if value is None))
                    witness = {path: witness_value(value) for path, value in witness.items()}
                    break
        source = None if subject is None else subject.source
        if fault is not None:
            where = fault.span or span
            append(
                _finding(
                    rule,
                    Status.ERROR,
                    f"rule failed at {where}: {fault.message}",
                    source,
                    evidence=refs,
                    witness=witness,
                    missing=missing,
                    note=f"error at {where}",
                )
            )
        elif result is True:
            append(
                _new((rule_id, control_id, passed, severity, title, source, span, refs, witness, missing,
                      remediation, None, None, weight))
            )  # fmt: skip
        else:
            note = "missing field(s): " + ", ".join(missing) if missing else None
            append(
                _new((rule_id, control_id, failed, severity, message or f"{title}: not met", source, span,
                      refs, witness, missing, remediation, None, note, weight))
            )  # fmt: skip

    selected = rule.code.function(items, index, now, emit)
    if rule.subject_kind is not None:
        expected = rule.expect_at_least
        if expected is not None and selected < expected:
            findings.append(_too_few(rule, items, index, now, selected, expected))
        elif selected == 0 and expected is None:
            findings.append(_nothing_selected(rule, items, index, now))
    return findings


NEAR_MISSES_SHOWN = 5


Candidate = tuple[Evidence, tuple[bool | None, ...] | None]  # an item and the truth of each conjunct


def _rank(
    found: Iterable[Candidate], conjuncts: Sequence[str], outer: str | None = None
) -> tuple[list[tuple[Evidence, str]], int]:
    """The candidates that came closest to a condition, each with the first conjunct that kept it out:
    the first :data:`NEAR_MISSES_SHOWN` of them, and how many there are.

    Closest means the longest run of leading conjuncts it meets (authors put the kind of thing first:
    `d.type == "ai-policy"` before `current(d)`), then the most conjuncts met. When none meets even the
    first conjunct, only items for which it is unknown are shown (a document without a type: found but
    unmarked); items of another kind altogether are no near miss, even where a later conjunct would
    raise on them (the generated code does not evaluate it: compiler._unless_first_false). The reason is
    worded for a user (annexa.lang.wording), never as rule-language text; ``outer`` is the kind of the
    rule's subject.
    Only the shown ones are worded: a failing subject may rank up to a thousand candidates.
    """
    # (leading run met, conjuncts met, source, item, truth of each conjunct, first one not met)
    ranked: list[tuple[int, int, str, Evidence, tuple[bool | None, ...] | None, int]] = []
    for item, results in found:
        if results is None:
            ranked.append((0, 0, item.source, item, results, 0))
            continue
        failed = [i for i, result in enumerate(results) if result is not True]
        if not failed:
            continue  # it meets the whole condition: what failed lies elsewhere
        first = failed[0]
        if first == 0 and results[0] is False:
            continue
        held = sum(1 for result in results if result is True)
        ranked.append((first, held, item.source, item, results, first))
    # The first few of a stable sort (heapq.nsmallest is documented to equal sorted(...)[:n]).
    closest = heapq.nsmallest(NEAR_MISSES_SHOWN, ranked, key=lambda entry: (-entry[0], -entry[1], entry[2]))
    var = wording.item_var(conjuncts)
    shown = []
    for _, _, _, item, results, first in closest:
        if results is None:
            reason = "the condition could not be evaluated on it"
        elif first == 0 and item.kind == "document" and item.data.get("type") is None:
            reason = "document found but unmarked: it has no type, so it cannot count as the document sought"
        else:
            reason = wording.reason(conjuncts[first], results[first], item.data, var, outer)
        shown.append((item, reason))
    return shown, len(ranked)


def _describe(shown: list[tuple[Evidence, str]], total: int) -> tuple[str, list[Evidence]]:
    more = f" (and {total - len(shown)} more)" if total > len(shown) else ""
    return "; ".join(f"{item.source}: {reason}" for item, reason in shown) + more, [i for i, _ in shown]


def _near_misses(
    rule: CompiledRule, items: Mapping[str, list[Pair]], index: _Index, now: datetime, selected: int = 0
) -> tuple[str, tuple[EvidenceRef, ...]]:
    """Items of the subject kind that the `where` kept out, closest first, each with the reason."""
    assert rule.subject_kind is not None
    total = index.total(rule.subject_kind)
    if not total:
        return f"no {rule.subject_kind} item was collected", ()
    summary = f"{total} {rule.subject_kind} item(s) collected, {selected or 'none'} selected"
    if rule.code.near is None:
        return summary, ()
    ranked, total = _rank(rule.code.near(items, index, now), rule.code.conjuncts)
    if not ranked:
        return summary, ()
    text, shown = _describe(ranked, total)
    return f"{summary}; closest: {text}", tuple(item.ref() for item in shown)


def _closest(rule: CompiledRule, candidates: tuple[list[Candidate], ...]) -> tuple[str, list[Evidence]]:
    """What came closest to each `exists` a failing finding sought, and the part that kept it out."""
    texts, shown = [], []
    for (kind, conjuncts), found in zip(rule.code.sought, candidates, strict=True):
        ranked, total = _rank(found, conjuncts, rule.subject_kind)
        if ranked:
            text, items = _describe(ranked, total)
            texts.append(f"closest {kind}: {text}")
            shown += items
    return "; ".join(texts), shown


def _too_few(
    rule: CompiledRule,
    items: Mapping[str, list[Pair]],
    index: _Index,
    now: datetime,
    selected: int,
    expected: int,
) -> Finding:
    # What was sought, how many were found, and the items the `where` kept out, closest first: the
    # user sees what came close even when some were found.
    found, refs = _near_misses(rule, items, index, now, selected)
    return _finding(
        rule,
        Status.FAIL,
        f"expected at least {expected} items, each {wording.sought(rule.sought)}; {found}",
        None,
        evidence=refs,
        witness={"sought": rule.sought, "selected": selected},
    )


def _nothing_selected(
    rule: CompiledRule, items: Mapping[str, list[Pair]], index: _Index, now: datetime
) -> Finding:
    """An empty selection is never a pass: not applicable only where evidence says empty is right."""
    if rule.code.allow is not None:
        result, witness, used, fault = rule.code.allow(items, index, now)
        if result is True and fault is None:
            return _finding(
                rule,
                Status.NOT_APPLICABLE,
                f"none found ({wording.sought(rule.sought)}), and that is legitimate: "
                f"{wording.condition(rule.allow_empty)}",
                None,
                evidence=_refs(used),
                witness={path: witness_value(value) for path, value in witness.items()},
                note=f"empty by evidence: {rule.allow_empty}",
            )
    found, refs = _near_misses(rule, items, index, now)
    if rule.code.allow is not None:
        accepted = wording.condition(rule.allow_empty)
        found += f"; an empty set is accepted only when {accepted}, which does not hold"
    return _finding(
        rule,
        Status.INCONCLUSIVE,
        f"nothing to assess: sought {wording.sought(rule.sought)}; {found}",
        None,
        evidence=refs,
        witness={"sought": rule.sought, "selected": 0},
        note="an empty selection is never a pass",
    )


def _refs(used: list[Evidence]) -> tuple[EvidenceRef, ...]:
    """The references of the items a finding rests on, each once, in the order first used."""
    if len(used) == 1:
        return (used[0].ref(),)
    if len(used) == 2:  # the subject and the item an `exists` found, mostly: no dictionary for those
        first, second = used
        return (first.ref(),) if first is second else (first.ref(), second.ref())
    return tuple(item.ref() for item in {id(item): item for item in used}.values())


_RENDERED = (timedelta, datetime)  # witness values stored as text (see runtime.witness_value)
# Types of witness values that are neither null nor rendered as text: kept as they are.
_PLAIN = frozenset({str, int, float, bool, list, dict})
_new = new_finding


def _finding(
    rule: CompiledRule,
    status: Status,
    message: str,
    subject: str | None,
    *,
    evidence: tuple[EvidenceRef, ...] = (),
    witness: Mapping[str, Any] | None = None,
    missing: tuple[str, ...] = (),
    note: str | None = None,
) -> Finding:
    return Finding(
        rule_id=rule.id,
        control_id=rule.control_id,
        status=status,
        severity=rule.severity,
        message=message,
        subject=subject,
        rule_span=rule.span,
        evidence=evidence,
        witness=witness or {},
        missing=missing,
        remediation=rule.remediation,
        note=note,
        weight=rule.weight,
    )
