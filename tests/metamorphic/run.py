"""Run the metamorphic suite over the demo estate: every mutant of every evidence file, two processes.

The property (../shared/reference/verdicts.md, "Order and monotonicity"): making evidence worse never
moves a control up the order pass > not_applicable > waived > inconclusive = error = fail. Each worker
holds a copy of the estate and an :class:`EstateScanner` (the rule pack compiled once, in the parent,
and inherited through ``fork``); it applies a mutant in place, scans, and puts the file back.

By hand, from the repository root, printing every improvement found::

    .venv/bin/python -m tests.metamorphic.run [--output /tmp/metamorphic_report.txt] [--processes 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .estate import EXAMPLES, STATUS_RANK, EstateScanner, copy_estate, evidence_files, is_improvement
from .mutations import Mutant, mutants

PROCESSES = 2
_CHUNK = 4  # mutants per task sent to a worker: small enough to balance, large enough to amortise


@dataclass(frozen=True, slots=True, kw_only=True)
class Improvement:
    mutant: str
    control: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.mutant}  {self.control}  {self.before} -> {self.after}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SuiteResult:
    baseline: dict[str, str]
    mutants: int
    seconds: float
    improvements: tuple[Improvement, ...]
    crashes: tuple[str, ...]  # "<mutant>: <traceback>" for every scan that raised

    def report(self) -> str:
        """One line per improvement (mutant, control, before -> after), then the crashes."""
        lines = [str(improvement) for improvement in self.improvements]
        lines += [f"{crash}" for crash in self.crashes]
        return "\n".join(lines) + ("\n" if lines else "")

    def summary(self) -> str:
        return (
            f"metamorphic suite: {self.mutants} mutants scanned in {self.seconds:.1f}s; "
            f"{len(self.improvements)} improvement(s) in "
            f"{len({i.mutant for i in self.improvements})} mutant(s), {len(self.crashes)} crash(es)"
        )


def estate_mutants(root: Path) -> tuple[Mutant, ...]:
    """Every mutant of every evidence file of the estate at ``root``."""
    return tuple(
        mutant
        for found in evidence_files(root)
        for mutant in mutants(found.path, found.family, (root / found.path).read_bytes())
    )


def improvements(mutant: str, before: dict[str, str], after: dict[str, str]) -> list[Improvement]:
    """The controls whose status ranks higher after the mutation (see estate.STATUS_RANK)."""
    return [
        Improvement(mutant=mutant, control=control, before=status, after=after[control])
        for control, status in before.items()
        if control in after and is_improvement(status, after[control])
    ]


# -- the worker processes ------------------------------------------------------------------------

_parent: EstateScanner | None = None  # set before the pool forks: its host and rule pack are inherited
_worker: EstateScanner | None = None


def _start_worker(pristine: str, workdir: str) -> None:
    global _worker
    root = Path(tempfile.mkdtemp(prefix="worker-", dir=workdir)) / "estate"
    shutil.copytree(pristine, root)
    _worker = EstateScanner(root, reuse=_parent)


def _scan(mutant: Mutant) -> tuple[str, dict[str, str] | None, str | None]:
    assert _worker is not None, "worker not started"
    path = _worker.root / mutant.path
    original = path.read_bytes()
    try:
        if mutant.content is None:
            path.unlink()
        else:
            path.write_bytes(mutant.content)
        return mutant.id, _worker.scan().statuses(), None
    except Exception:
        return mutant.id, None, traceback.format_exc()
    finally:
        path.write_bytes(original)


def run_suite(workdir: Path, *, processes: int = PROCESSES, source: Path = EXAMPLES) -> SuiteResult:
    """Scan the estate at ``source`` and each of its mutants; ``workdir`` holds the copies."""
    global _parent
    started = time.perf_counter()
    pristine = copy_estate(workdir / "pristine", source)
    _parent = EstateScanner(pristine)
    baseline = _parent.scan().statuses()
    unknown = set(baseline.values()) - set(STATUS_RANK)
    if unknown:
        raise ValueError(f"control statuses without a rank: {sorted(unknown)}")
    todo = estate_mutants(pristine)
    found: list[Improvement] = []
    crashes: list[str] = []
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(
            processes, initializer=_start_worker, initargs=(str(pristine), str(workdir))
        ) as pool:
            for mutant_id, statuses, crash in pool.imap_unordered(_scan, todo, chunksize=_CHUNK):
                if statuses is None:
                    crashes.append(f"{mutant_id}: scan raised\n{crash}")
                else:
                    found.extend(improvements(mutant_id, baseline, statuses))
    finally:
        _parent = None
    return SuiteResult(
        baseline=baseline,
        mutants=len(todo),
        seconds=time.perf_counter() - started,
        improvements=tuple(sorted(found, key=lambda i: (i.mutant, i.control))),
        crashes=tuple(sorted(crashes)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.metamorphic.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output", type=Path, help="also write the report (one improvement a line) here")
    parser.add_argument("--processes", type=int, default=PROCESSES, help=f"worker processes ({PROCESSES})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="annexa-metamorphic-") as workdir:
        result = run_suite(Path(workdir), processes=args.processes)
    report = result.report()
    if args.output:
        args.output.write_text(report, encoding="utf-8")
    print(report, end="")
    print(result.summary(), file=sys.stderr)
    return 1 if result.improvements or result.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
