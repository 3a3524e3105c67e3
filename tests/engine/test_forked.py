"""`annexa evaluate --jobs N` (annexa.app.forked): the bundle read in parts by forked processes and the rules
shared out among them must give what one process gives, to the byte: the result (JSON compact and
indented, text), the exit code, the schema warnings in bundle order and every reading error. Compared here
through the real command against `--jobs 1`, on the demo estate's bundle, on the benchmark's synthetic
estate (benchmarks/bench_scale.py), on a recorded scan, and on bundles damaged where a child reads; and
the splitting itself (bundle_ranges, read_bundle_part, join_bundle_parts) against read_bundle, as a
property over random small bundles.

Each comparison also counts the processes forked (os.fork, observed, not replaced): an equality between a
run that never forked and `--jobs 1` would prove nothing."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import pickle
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.cli.main import main
from annexa.model.evidence import (
    Bundle,
    Evidence,
    EvidenceFormatError,
    bundle_ranges,
    join_bundle_parts,
    read_bundle,
    read_bundle_part,
    write_bundle,
)
from annexa.model.exitcodes import ExitCode

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_scale  # the benchmark's own estate, as tests/engine/test_streaming_eval.py uses it

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="--jobs forks processes")

NOW = "2026-11-23T00:00:00Z"
USAGE = int(ExitCode.USAGE_ERROR)
SCHEMA_WARNING = "annexa: warning: evidence breaks its schema"


# -- running the command --------------------------------------------------------------------------------


@dataclasses.dataclass
class Runner:
    """`annexa evaluate` run in this process; each run's forks counted (the children are real processes)."""

    out: Path
    capsys: pytest.CaptureFixture[str]
    forks: list[int]

    def __call__(self, *args: str) -> tuple[int, bytes, str]:
        """Exit code, output (the JSON result file, or standard output for text) and standard error."""
        self.capsys.readouterr()
        self.out.unlink(missing_ok=True)
        json_out = "json" in args
        code = main(["evaluate", *args, *(["-o", str(self.out)] if json_out else [])])
        captured = self.capsys.readouterr()
        output = self.out.read_bytes() if json_out and self.out.exists() else captured.out.encode()
        return code, output, captured.err

    def agree(
        self, *args: str, jobs: tuple[str, ...] = ("2", "3")
    ) -> tuple[tuple[int, bytes, str], list[int]]:
        """The run with ``--jobs 1``, asserted equal to those with each of ``jobs``; and how many processes
        each of those forked."""
        self.forks.clear()
        one = self(*args, "--jobs", "1")
        assert self.forks == [], "--jobs 1 must run in this process alone"
        forked = []
        for count in jobs:
            self.forks.clear()
            many = self(*args, "--jobs", count)
            assert many[0] == one[0], f"--jobs {count}: exit code"
            assert many[2] == one[2], f"--jobs {count}: standard error"
            assert many[1] == one[1], f"--jobs {count}: output"
            forked.append(len(self.forks))
        return one, forked


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    # An empty working folder: no annexa.yaml found there stands in for the configuration not given.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    forks: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        pid = real_fork()
        if pid:  # the parent: the child's copy of the list is its own
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counted_fork)
    return Runner(tmp_path / "result.json", capsys, forks)


# -- the estates ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Estate:
    config: Path  # the demo's, with an exception in force, an expired one and a control not applicable
    bundle: Path  # the demo estate collected
    store: Path  # the demo estate scanned once
    synthetic: Path  # the synthetic estate, with items breaking their schema at the start, middle and end
    broken: tuple[str, ...]  # the sources of those items, in bundle order


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Estate:
    folder = tmp_path_factory.mktemp("estate")
    host, _, ruleset, seed = bench_scale.seed_evidence(folder)  # writes folder/annexa.yaml, the demo's
    config = folder / "annexa.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["exceptions"] += [
        {
            "rule": "A.2.3/ai_policy_references_policies",
            "justification": "Accepted while the policy was rewritten.",
            "approved_by": "CISO",
            "expires": "2025-01-31",  # before the bundle's clock: no longer waived, and said so
        },
        {
            "rule": "A.4.2/system_record_current",
            "justification": "The record is rewritten with the Q1 release.",
            "approved_by": "Chief Risk Officer",
            "expires": "2027-06-30",
        },
    ]
    raw["store"] = {"path": str(folder / "store")}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")

    bundle = folder / "bundle.jsonl"
    assert main(["collect", "-c", str(config), "--now", NOW, "-o", str(bundle)]) == 0
    assert (
        main(["scan", "-c", str(config), "--now", NOW, "--format", "json", "-o", str(folder / "s.json")]) == 1
    )

    items = bench_scale.synthetic_estate(seed, 2000)
    cards = [item for item in items if item.kind == "model_card"]
    broken = []
    # A model card whose model_name is a number breaks the kind's schema: one near the start, one at 40 %
    # (the second of three parts, the first of two), one near the end: each of three readers warns of one.
    for at, card in zip((5, len(items) * 2 // 5, len(items) - 5), cards, strict=False):
        source = f"{card.source}#broken-at-{at}"
        items.insert(at, dataclasses.replace(card, source=source, data={**card.data, "model_name": at}))
        broken.append(source)
    schemas = {k: s for spec in host.collectors().values() for k, s in spec.kinds.items()}
    collected: dict[str, str | None] = dict.fromkeys(sorted(ruleset.kinds_read))
    collected["mlflow.run"] = "mlflow: connection refused"
    synthetic = folder / "synthetic.jsonl"
    write_bundle(
        synthetic,
        Bundle(
            evidence=tuple(items),
            collected=collected,
            schemas={kind: schemas[kind] for kind in ruleset.kinds_read if kind in schemas},
            gaps={"document": ("documents ./more: unreadable folder",)},
        ),
    )
    return Estate(config, bundle, folder / "store", synthetic, tuple(broken))


def part_of(offset: int, ranges: list[tuple[int, int | None]]) -> int:
    return max(number for number, (start, _) in enumerate(ranges) if start <= offset)


FORMATS = {
    "json": ("--format", "json"),
    "json --pretty": ("--format", "json", "--pretty"),
    "text": ("--format", "text"),
}


# -- 1. the same result ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("with_config", [False, True], ids=["no configuration", "configuration"])
@pytest.mark.parametrize("output", FORMATS)
def test_the_demo_estates_bundle_gives_the_same_result_in_two_and_three_processes(
    estate: Estate, run: Runner, output: str, with_config: bool
) -> None:
    assert len(bundle_ranges(estate.bundle, 3)) == 3  # read in three parts, two of them by children
    config = ("-c", str(estate.config)) if with_config else ()
    (code, result, _), forked = run.agree("--evidence", str(estate.bundle), *config, *FORMATS[output])
    # --jobs N: N-1 children read and N-1 evaluate, beside this process.
    assert forked == [2, 4]
    assert code == int(ExitCode.NONCONFORMITIES)
    if output == "text":
        assert b"A.5.3" in result
        return
    findings = json.loads(result)["findings"]
    assert len(findings) > 50
    statuses = {finding["status"] for finding in findings}
    assert statuses >= {"pass", "fail", "inconclusive"}
    if with_config:
        # Each part of the policy applied, in the children too: waived, no longer waived, not applicable.
        assert "not_applicable" in statuses
        assert any(finding["waiver"] for finding in findings)
        assert any("exception expired on 2025-01-31" in (finding["note"] or "") for finding in findings)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("output", "with_config"),
    [("json", True), ("json --pretty", True), ("text", True), ("json", False)],
)
def test_the_synthetic_estate_gives_the_same_result_and_warnings_in_bundle_order(
    estate: Estate, run: Runner, output: str, with_config: bool
) -> None:
    """Two thousand items, the schema-breaking ones read by different processes: the warnings of the
    children's parts must come after the parent's, in the order of the file."""
    ranges = bundle_ranges(estate.synthetic, 3)
    assert len(ranges) == 3
    text = estate.synthetic.read_bytes()
    at = [text.index(json.dumps(source).encode()) for source in estate.broken]
    assert [part_of(offset, ranges) for offset in at] == [0, 1, 2]
    assert [part_of(offset, bundle_ranges(estate.synthetic, 2)) for offset in at] == [0, 0, 1]

    config = ("-c", str(estate.config)) if with_config else ()
    args = ("--evidence", str(estate.synthetic), "--now", NOW, *config, *FORMATS[output])
    (code, result, err), forked = run.agree(*args)
    assert forked == [2, 4]
    assert code == int(ExitCode.NONCONFORMITIES)
    warned = [line for line in err.splitlines() if line.startswith(SCHEMA_WARNING)]
    assert len(warned) == 3
    assert all(source in line for source, line in zip(estate.broken, warned, strict=True))
    if output != "text":
        found = json.loads(result)
        assert len(found["findings"]) > 1000
        assert [problem.split(": ")[0].split(" ", 1)[1] for problem in found["invalid_evidence"]] == list(
            estate.broken
        )
        messages = [finding["message"] for finding in found["findings"]]
        assert any("mlflow: connection refused" in message for message in messages)


# -- 2. a recorded scan ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("output", ["json", "text"])
def test_a_recorded_scan_re_evaluated_in_two_processes_gives_the_same_result(
    estate: Estate, run: Runner, output: str
) -> None:
    args = ("--scan", "latest", "--store", str(estate.store), "-c", str(estate.config), *FORMATS[output])
    (code, result, err), forked = run.agree(*args, jobs=("2",))
    assert forked == [1]  # nothing to read in parts: the stored items are in memory; one child evaluates
    assert code == int(ExitCode.NONCONFORMITIES)
    assert "warning" not in err  # the scan's own rules: no "findings may differ"
    if output == "json":
        findings = json.loads(result)["findings"]
        assert any(finding["waiver"] for finding in findings)
        assert any(finding["status"] == "not_applicable" for finding in findings)


# -- 3. the same reading errors -------------------------------------------------------------------------

RULE = (
    'control A.5.2 "Owners" {\n'
    '  rule owned "Every document has an owner" {\n'
    "    for each d in document\n"
    "    require d.owner != null\n"
    '    message "{d.owner}"\n'
    "  }\n"
    "}\n"
)
HEADER = {"annexa_bundle": 1, "collected": {"document": None}, "schemas": {"document": {"type": "object"}}}


def document(number: int) -> bytes:
    data = {"owner": None if number % 4 == 0 else f"owner {number}", "notes": "n" * (150 + number % 7)}
    raw = {
        "kind": "document",
        "source": f"file:doc-{number:03d}.md",
        "scope": {"store": "./governance"},
        "collector": "test 1",
        "collected_at": NOW,
        "data": data,
    }
    return json.dumps(raw).encode() + b"\n"


def base_lines(count: int = 30) -> list[bytes]:
    return [json.dumps(HEADER).encode() + b"\n", *(document(n) for n in range(count))]


def in_place(lines: list[bytes], index: int, text: bytes) -> None:
    """Line ``index`` replaced by ``text`` padded with spaces to the same length, so that the file keeps
    its size and its split points."""
    room = len(lines[index]) - 1
    assert len(text) <= room
    lines[index] = text + b" " * (room - len(text)) + b"\n"


def line_at(lines: list[bytes], offset: int) -> int:
    """The index of the line starting at byte ``offset``."""
    at = 0
    for index, line in enumerate(lines):
        if at == offset:
            return index
        at += len(line)
    raise AssertionError(f"no line starts at {offset}")


def written(path: Path, lines: list[bytes]) -> list[int]:
    """``lines`` written to ``path``; the index of the first line of each part read, for two readers (the
    first two) and then for three (the last three)."""
    path.write_bytes(b"".join(lines))
    return [line_at(lines, start) for count in (2, 3) for start, _ in bundle_ranges(path, count)]


def broken_json_near_the_end(lines: list[bytes], starts: list[int]) -> int:
    in_place(lines, len(lines) - 2, b'{"kind": "document", "source": ')
    return len(lines) - 2


def not_utf8_in_the_middle_part(lines: list[bytes], starts: list[int]) -> int:
    index = starts[3] + 2  # inside the second of three parts (and the first of two)
    in_place(lines, index, b'{"kind": "document", "source": "caf\xe9"}')
    return index


def not_utf8_in_the_last_part(lines: list[bytes], starts: list[int]) -> int:
    index = starts[4] + 1
    in_place(lines, index, b'{"kind": "\xff\xfe"}')
    return index


def header_inside_a_childs_part(lines: list[bytes], starts: list[int]) -> int:
    index = starts[4] + 2  # after items of the third part itself
    in_place(lines, index, json.dumps(HEADER).encode())
    return index


def header_first_in_the_second_of_three_parts(lines: list[bytes], starts: list[int]) -> int:
    # The child reads it before any item of its own: only the join can tell that items came before it.
    in_place(lines, starts[3], json.dumps(HEADER).encode())
    return starts[3]


def header_first_in_the_second_of_two_parts(lines: list[bytes], starts: list[int]) -> int:
    in_place(lines, starts[1], json.dumps(HEADER).encode())
    return starts[1]


def item_broken_in_a_childs_part(lines: list[bytes], starts: list[int]) -> int:
    index = starts[4] + 3  # valid JSON, not an item: the item's own error, with its line number
    in_place(lines, index, b'{"kind": "document", "source": "x"}')
    return index


@pytest.mark.parametrize(
    "damage",
    [
        broken_json_near_the_end,
        not_utf8_in_the_middle_part,
        not_utf8_in_the_last_part,
        header_inside_a_childs_part,
        header_first_in_the_second_of_three_parts,
        header_first_in_the_second_of_two_parts,
        item_broken_in_a_childs_part,
    ],
)
def test_a_reading_error_in_a_childs_part_is_reported_as_one_process_reports_it(
    tmp_path: Path, run: Runner, damage: Callable[[list[bytes], list[int]], int]
) -> None:
    (tmp_path / "owners.rule").write_text(RULE, encoding="utf-8")
    bundle = tmp_path / "bundle.jsonl"
    lines = base_lines()
    starts = written(bundle, lines)
    assert len(starts) == 5  # two parts, then three
    assert starts[0] == starts[2] == 0
    index = damage(lines, starts)
    assert written(bundle, lines) == starts  # damaged in place: the same split points
    assert index >= starts[3]  # not in the parent's part, when three processes read
    with pytest.raises(EvidenceFormatError) as reading:
        read_bundle(bundle)
    assert f"{bundle}:{index + 1}:" in str(reading.value)  # the line damaged, numbered from 1
    rules = str(tmp_path / "owners.rule")
    args = ("--evidence", str(bundle), "--rules", rules, "--no-plugins", "--now", NOW, "--format", "json")
    (code, output, err), forked = run.agree(*args)
    assert forked == [1, 2]  # the readers were forked; the evaluation never started
    assert code == USAGE
    assert output == b""
    assert err == f"annexa: error: {reading.value}\n"


def headers_repeated_at_the_start(lines: list[bytes], path: Path) -> list[bytes]:
    """Header lines before any item, so many that the second of three parts starts among them: allowed,
    the last one counts (it says document was collected; the earlier ones that its collection failed)."""
    failed = {**HEADER, "collected": {"document": "refused"}, "gaps": {"document": ["x" * 500]}}
    return [*(json.dumps(failed).encode() + b"\n" for _ in range(16)), *lines]


def blank_lines_around_the_split_points(lines: list[bytes], path: Path) -> list[bytes]:
    """The lines before, at and after each split point (of two readers and of three) made blank, of
    spaces, a tab, a carriage return: in place, so that the split points stay where they were."""
    lines = list(lines)
    path.write_bytes(b"".join(lines))
    for count in (2, 3):
        for start, _ in bundle_ranges(path, count)[1:]:
            at = line_at(lines, start)
            in_place(lines, at - 1, b"")
            in_place(lines, at, b"\t")
            room = len(lines[at + 1]) - 2
            lines[at + 1] = b" " * room + b"\r\n"
    return lines


def no_trailing_newline(lines: list[bytes], path: Path) -> list[bytes]:
    return [*lines[:-1], lines[-1].rstrip(b"\n")]


def not_saying_what_was_collected(lines: list[bytes], path: Path) -> list[bytes]:
    """A header with the schemas only: every kind holding an item counts as collected, which the forked
    evaluation works out apart from the evaluator (annexa.app.forked)."""
    return [json.dumps({"annexa_bundle": 1, "schemas": HEADER["schemas"]}).encode() + b"\n", *lines[1:]]


def blank_lines_at_the_end(lines: list[bytes], path: Path) -> list[bytes]:
    """So many that the last part holds nothing but blank lines."""
    return [*lines, *([b" " * 600 + b"\n"] * 12)]


@pytest.mark.parametrize(
    "shape",
    [
        headers_repeated_at_the_start,
        blank_lines_around_the_split_points,
        no_trailing_newline,
        not_saying_what_was_collected,
        blank_lines_at_the_end,
    ],
)
def test_bundles_read_without_error_give_the_same_result_however_split(
    tmp_path: Path, run: Runner, shape: Callable[[list[bytes], Path], list[bytes]]
) -> None:
    (tmp_path / "owners.rule").write_text(RULE, encoding="utf-8")
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(b"".join(shape(base_lines(24), bundle)))
    ranges = bundle_ranges(bundle, 3)
    assert len(ranges) == 3
    whole = read_bundle(bundle)
    assert len(whole.evidence) >= 15
    # The last header before the items, when there is one.
    assert whole.collected == (None if shape is not_saying_what_was_collected else {"document": None})
    text = bundle.read_bytes()
    if shape is headers_repeated_at_the_start:
        assert text[ranges[1][0] :].startswith(b'{"annexa_bundle"')  # a child starts among the headers
    if shape is blank_lines_around_the_split_points:
        starts = [start for count in (2, 3) for start, _ in bundle_ranges(bundle, count)[1:]]
        assert all(not text[start:].split(b"\n", 1)[0].strip() for start in starts)
    if shape is blank_lines_at_the_end:
        assert not text[ranges[2][0] :].strip()
    unowned = sorted(item.source for item in whole.evidence if item.data["owner"] is None)
    rules = str(tmp_path / "owners.rule")
    for output in ("json", "text"):
        args = ("--evidence", str(bundle), "--rules", rules, "--no-plugins", "--now", NOW, *FORMATS[output])
        (code, result, err), forked = run.agree(*args)
        # Two children read; at least one evaluates (no more processes than tasks: the observations and
        # the one rule).
        assert forked[1] >= 3
        assert code == int(ExitCode.NONCONFORMITIES)  # the documents without an owner
        assert err == ""
        if output == "json":
            findings = json.loads(result)["findings"]
            assert sorted(f["evidence"][0]["source"] for f in findings if f["status"] == "fail") == unowned


def test_an_empty_bundle_and_a_missing_one_are_reported_as_one_process_reports_them(
    tmp_path: Path, run: Runner
) -> None:
    (tmp_path / "owners.rule").write_text(RULE, encoding="utf-8")
    rules = str(tmp_path / "owners.rule")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    # The installed collectors' kinds: an empty file has no header to declare document's schema.
    (code, _, err), _ = run.agree("--evidence", str(empty), "--rules", rules, "--format", "json")
    assert code == USAGE
    assert err == "annexa: error: --now is needed for an empty bundle\n"
    # With a clock: evaluated, every rule inconclusive (nothing collected), in as many processes as asked.
    args = ("--evidence", str(empty), "--rules", rules, "--now", NOW, "--format", "json")
    (code, result, err), forked = run.agree(*args)
    assert min(forked) >= 1  # nothing to read in parts; a child evaluates
    assert code == int(ExitCode.INCONCLUSIVE)
    assert [finding["status"] for finding in json.loads(result)["findings"]] == ["inconclusive"]
    missing = tmp_path / "missing.jsonl"
    (code, _, err), _ = run.agree(
        "--evidence", str(missing), "--rules", rules, "--now", NOW, "--format", "json"
    )
    assert code == USAGE
    assert err.startswith(f"annexa: error: {missing}: cannot read evidence bundle: No such file")


# -- 4. the splitting, as a property --------------------------------------------------------------------

ITEM_LINES = st.builds(
    lambda number, pad: json.dumps(
        {
            "kind": "document" if number % 3 else "model_card",
            "source": f"file:{number}.md",
            "scope": {"store": "s"},
            "collector": "c",
            "collected_at": NOW,
            "data": {"n": number, "pad": "p" * pad},
        }
    ).encode(),
    st.integers(0, 20),
    st.integers(0, 40),
)
HEADER_LINES = st.builds(
    lambda collected, gaps: json.dumps(
        {
            "annexa_bundle": 1,
            "collected": {"document": collected},
            "schemas": {"document": {"type": "object"}},
            "gaps": {"document": [gaps]} if gaps else {},
        }
    ).encode(),
    st.sampled_from([None, "refused"]),
    st.sampled_from(["", "unreadable folder"]),
)
BLANK_LINES = st.sampled_from([b"", b"   ", b"\t", b"\r", b" " * 30])
BROKEN_LINES = st.sampled_from(
    [
        b'{"kind": "document", ',  # not JSON
        b'{"kind": "caf\xe9"}',  # not UTF-8
        b'{"kind": "document"}',  # JSON, not an item
        b"[1, 2]",  # JSON, not an object
        b'{"annexa_bundle": 1, "collected": 5}',  # a header whose collected is not a map
    ]
)
LINES = st.lists(
    st.one_of(ITEM_LINES, ITEM_LINES, ITEM_LINES, BLANK_LINES, HEADER_LINES, BROKEN_LINES), max_size=14
)


def reading(read: Callable[[], Bundle]) -> tuple[Any, ...]:
    """What a reading gives, compared whole: the items (with their ids, in order), what was collected,
    the schemas and the gaps; or the error's message."""
    try:
        bundle = read()
    except EvidenceFormatError as error:
        return ("error", str(error))
    items: tuple[Evidence, ...] = bundle.evidence
    return ("bundle", [(item.id, item) for item in items], bundle.collected, bundle.schemas, bundle.gaps)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("split") / "bundle.jsonl"


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LINES, newline_at_end=st.booleans())
def test_a_bundle_read_in_parts_and_joined_is_the_bundle_read_whole(
    scratch: Path, lines: list[bytes], newline_at_end: bool
) -> None:
    text = b"\n".join(lines) + (b"\n" if newline_at_end and lines else b"")
    scratch.write_bytes(text)
    whole = reading(lambda: read_bundle(scratch))
    for count in range(1, 7):
        ranges = bundle_ranges(scratch, count)
        # The ranges tile the file: from 0, each ending where the next starts, the last to the end; each
        # starts at a line start, and no two are the same.
        assert 1 <= len(ranges) <= count
        assert ranges[0][0] == 0
        assert ranges[-1][1] is None
        assert all(end == start for (_, end), (start, _) in itertools.pairwise(ranges))
        starts = [start for start, _ in ranges]
        assert starts == sorted(set(starts))
        assert all(0 < start < len(text) and text[start - 1 : start] == b"\n" for start in starts[1:])
        # Each part read as a child reads it for `annexa evaluate`: its items' ids computed there (as the
        # command's preparer does), then handed back pickled.
        parts = [pickle.loads(pickle.dumps(read_bundle_part(scratch, with_id, *at))) for at in ranges]
        assert reading(partial(join_bundle_parts, scratch, parts)) == whole, (count, ranges)


def with_id(item: Evidence) -> Evidence:
    item.id  # noqa: B018  # computed and kept, from the whole item
    return item
