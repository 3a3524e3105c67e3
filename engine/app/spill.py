"""Findings spilled to a temporary file as the result writer encodes them (:class:`Spill`), read back in
the order the in-memory evaluation gives them (:func:`in_memory_order`): what lets an evaluation hand its
findings to the result writer without holding them (the streamed evaluation) or from other processes
(the forked one)."""

from __future__ import annotations

import json
import struct
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import IO, TYPE_CHECKING, Any

import orjson
import zstandard

from annexa.files.jsonwriter import encode
from annexa.model.findings import control_sort_key

if TYPE_CHECKING:
    from annexa.lang.ruleset import RuleSet
    from annexa.model.findings import Finding

_LENGTH = struct.Struct("<I")


class Spilled:
    """Findings spilled to temporary files, read back a rule at a time in the order asked for."""

    def records(self, rule_ids: Iterable[str]) -> Iterator[bytes]:
        """The findings' encoded text, the rules in the order of ``rule_ids``: each record one finding, or
        several joined by commas (a JSON list's elements)."""
        raise NotImplementedError

    def dicts(self, rule_ids: Iterable[str]) -> Iterator[dict[str, Any]]:
        """The findings as dictionaries (what the text report reads): by json, which reads an integer
        beyond 64 bits as one (orjson would make it a float)."""
        for record in self.records(rule_ids):
            yield from json.loads(b"[" + record + b"]")

    def close(self) -> None:
        raise NotImplementedError


class Spill(Spilled):
    """The findings of each rule written to a temporary file as the result writer encodes a finding
    (orjson, compact or indented as ``pretty`` says, the standard library where orjson refuses;
    :mod:`annexa.files.jsonwriter`) and compressed (zstd, level 1: findings repeat their rule's wording, so
    a million items spill 0.2 GB instead of 2.2), each record preceded by its length, and read back a rule
    at a time in the order asked for."""

    BLOCK = 1 << 22  # bytes read at a time
    FINDINGS_PER_RECORD = 256

    def __init__(self, *, pretty: bool) -> None:
        self.pretty = pretty
        # Open until close(): read back while the result is written, after evaluate_streamed returns.
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="annexa-findings-", buffering=1 << 20)  # noqa: SIM115
        self._spans: dict[str, tuple[int, int]] = {}  # rule id -> offset and length of its records
        self._end = 0
        self._compress = zstandard.ZstdCompressor(level=1).compress
        self._decompress = zstandard.ZstdDecompressor().decompress

    def add(self, rule_id: str, findings: Iterable[Finding]) -> None:
        pack, write = _LENGTH.pack, self._file.write
        start = self._end
        self._file.seek(start)
        found = iter(findings)
        # Compact, a record is a block of consecutive findings joined by commas, encoded by one orjson
        # call (what the writer's batches hold between their brackets); indented, one finding.
        while batch := list(islice(found, 1 if self.pretty else self.FINDINGS_PER_RECORD)):
            text = self._compress(self._encoded(batch))
            write(pack(len(text)))
            write(text)
            self._end += _LENGTH.size + len(text)
        self._spans[rule_id] = (start, self._end - start)

    def _encoded(self, batch: list[Finding]) -> bytes:
        # As the writer encodes a finding (result.py: Stream(encode=to_encodable, fallback=to_dict)).
        if not self.pretty:
            try:
                return orjson.dumps([finding.to_encodable() for finding in batch])[1:-1]
            except (TypeError, orjson.JSONEncodeError):
                pass
        option = orjson.OPT_INDENT_2 if self.pretty else 0
        texts = []
        for finding in batch:
            try:
                texts.append(orjson.dumps(finding.to_encodable(), option=option))
            except (TypeError, orjson.JSONEncodeError):
                texts.append(encode(finding.to_dict(), self.pretty, 0))
        return b",".join(texts)

    def records(self, rule_ids: Iterable[str]) -> Iterator[bytes]:
        size, unpack = _LENGTH.size, _LENGTH.unpack_from
        handle, decompress = self._file, self._decompress
        for rule_id in rule_ids:
            span = self._spans.get(rule_id)
            if span is None:
                continue
            offset, left = span
            while left:
                handle.seek(offset)
                block = handle.read(min(left, self.BLOCK))
                at = 0
                while at + size <= len(block):
                    (length,) = unpack(block, at)
                    if at + size + length > len(block):
                        break
                    yield decompress(block[at + size : at + size + length])
                    at += size + length
                if at == 0:  # one record longer than the block: read it whole
                    (length,) = unpack(block, 0)
                    handle.seek(offset + size)
                    yield decompress(handle.read(length))
                    at = size + length
                offset += at
                left -= at

    def spans(self) -> dict[str, tuple[int, int]]:
        """Where each rule's findings lie in the file (what a process that wrote them hands back)."""
        return dict(self._spans)

    def adopt(self, spans: dict[str, tuple[int, int]]) -> None:
        """Take the findings another process (forked with this spill) wrote into the file, at ``spans``."""
        self._spans.update(spans)
        self._end = max([self._end, *(offset + length for offset, length in spans.values())])

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


StandInKey = tuple[str, object, bool, str]


def stand_ins_of(findings: Iterable[Finding], kept: dict[StandInKey, Finding]) -> list[Finding]:
    """A stand-in for each of ``findings``: the first finding seen (``kept``) of its rule, status, waiver
    (or none) and weight, which is all the summary and the roll-up read of a finding."""
    return [kept.setdefault((f.rule_id, f.status, f.waiver is not None, f.weight), f) for f in findings]


def in_memory_order(ruleset: RuleSet) -> list[str]:
    """The rules' ids in the order the in-memory evaluation gives their findings (by control, then id)."""
    return [rule.id for rule in sorted(ruleset.rules, key=lambda r: (control_sort_key(r.control_id), r.id))]


class Spills(Spilled):
    """Several spills read as one (the forked evaluation's, one per process): each rule's findings from
    the spill that holds them."""

    def __init__(self, spills: Sequence[Spill]) -> None:
        self._spills = spills

    def records(self, rule_ids: Iterable[str]) -> Iterator[bytes]:
        holder = {rule_id: spill for spill in self._spills for rule_id in spill.spans()}
        for rule_id in rule_ids:
            if rule_id in holder:
                yield from holder[rule_id].records((rule_id,))

    def close(self) -> None:
        for spill in self._spills:
            spill.close()
