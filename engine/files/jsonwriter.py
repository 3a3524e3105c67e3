"""JSON documents written as a stream: one value at a time with orjson, never the whole text at once.

A result over 100,000 evidence items holds a million findings; ``json.dumps(indent=2)`` of it built a
278 MB string (and the dictionaries before it) in 13 s. Here the document's top-level values are written
one after the other, and a value wrapped in :class:`Stream` (the findings) is written element by element
from an iterator, so memory does not grow with the number of findings. orjson encodes each value (a
compiled encoder, 5-10 times the standard library's speed, UTF-8 out); a value it refuses (an integer
beyond 64 bits, a key that is not a string) is encoded by the standard library instead, as before.

Compact by default; ``pretty`` gives the layout of ``json.dumps(indent=2)``. Either way the document
parses to exactly what ``json.dumps`` of the same values gave.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import orjson


class Stream:
    """A list written element by element from an iterator (made when the writer reaches it)."""

    def __init__(self, elements: Iterable[Any]) -> None:
        self._elements = elements

    def __iter__(self) -> Iterator[Any]:
        return iter(self._elements)


def _encode(value: Any, pretty: bool, depth: int) -> bytes:
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0)
    except (TypeError, orjson.JSONEncodeError):
        # What orjson refuses and the standard library takes (big integers, non-string keys).
        separators = (",", ": ") if pretty else (",", ":")
        text = json.dumps(
            value, ensure_ascii=False, indent=2 if pretty else None, separators=separators
        ).encode()
    if pretty and depth:
        return text.replace(b"\n", b"\n" + b"  " * depth)  # a JSON string never holds a raw newline
    return text


def write_json(document: Mapping[str, Any], out: IO[bytes], *, pretty: bool = False) -> None:
    """Write ``document`` (a mapping whose values may be :class:`Stream`) to ``out``, UTF-8."""
    newline, indent = (b"\n", b"  ") if pretty else (b"", b"")
    colon = b": " if pretty else b":"
    out.write(b"{")
    for number, (key, value) in enumerate(document.items()):
        out.write((b"," if number else b"") + newline + indent + orjson.dumps(key) + colon)
        if isinstance(value, Stream):
            _write_stream(value, out, pretty)
        else:
            out.write(_encode(value, pretty, 1))
    out.write(newline + b"}" if document else b"}")
    if pretty:
        out.write(b"\n")


def _write_stream(stream: Stream, out: IO[bytes], pretty: bool) -> None:
    separator = b",\n    " if pretty else b","
    empty = True
    for element in stream:
        out.write((b"[\n    " if pretty else b"[") if empty else separator)
        out.write(_encode(element, pretty, 2))
        empty = False
    out.write(b"[]" if empty else (b"\n  ]" if pretty else b"]"))
