"""Parsed rule files kept in the private cache folder read back as the same syntax tree; a changed text,
a foreign or broken cache file, never."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from annexa.lang import parser

TEXT = 'control A.6.2.8 "t" {\n  rule r {\n    for each x in svc\n    require x.n >= 1d\n  }\n}\n'


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    saved = list(parser._CACHE_FOLDER)
    parser.use_cache(tmp_path)
    yield tmp_path
    parser._CACHE_FOLDER[:] = saved


def test_a_file_parsed_before_reads_back_the_same(cache: Path) -> None:
    first = parser.parse(TEXT, "t.rule")
    assert len(list(cache.glob("parsed-*.pickle"))) == 1
    assert parser.parse(TEXT, "t.rule") == first == parser._parse(TEXT, "t.rule")
    changed = parser.parse(TEXT.replace("1d", "2d"), "t.rule")
    assert changed != first
    assert len(list(cache.glob("parsed-*.pickle"))) == 2


def test_a_broken_cache_file_is_parsed_again(cache: Path) -> None:
    parser.parse(TEXT, "t.rule")
    (stored,) = cache.glob("parsed-*.pickle")
    stored.write_bytes(b"not a pickle")
    assert parser.parse(TEXT, "t.rule") == parser._parse(TEXT, "t.rule")


def test_syntax_errors_are_never_kept(cache: Path) -> None:
    with pytest.raises(parser.DiagnosticError):
        parser.parse(TEXT.replace("require", "requir"), "t.rule")
    assert not list(cache.glob("parsed-*.pickle"))
