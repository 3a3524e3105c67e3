"""JSON documents written as a stream: one value at a time with orjson, never the whole text at once.

A result over 100,000 evidence items holds a million findings; ``json.dumps(indent=2)`` of it built a
278 MB string (and the dictionaries before it) in 13 s. Here the document's top-level values are written
one after the other, and a value wrapped in :class:`Stream` (the findings) is written from an iterator, a
batch of elements at a time (one element at a time when pretty), so memory does not grow with the number
of findings. orjson encodes each value (a
compiled encoder, 5-10 times the standard library's speed, UTF-8 out); a value it refuses (an integer
beyond 64 bits, a key that is not a string) is encoded by the standard library instead, as before.

Compact by default; ``pretty`` gives the layout of ``json.dumps(indent=2)``. Either way the document
parses to exactly what ``json.dumps`` of the same values gave.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import IO, Any

import orjson


class Stream:
    """A list written element by element from an iterator (made when the writer reaches it).

    ``encode`` turns an element into what orjson writes (default: the element itself); where orjson
    refuses that, ``fallback`` turns the element into what the standard library writes instead (default:
    the encoded value). Compact, the elements are encoded a batch at a time, one orjson call per batch.
    ``encoded``: the elements are written as they are, JSON text already (as this writer encodes them),
    each one element, or, compact, several joined by commas (a spill of findings: annexa.app.spill).
    """

    def __init__(
        self,
        elements: Iterable[Any],
        *,
        encode: Callable[[Any], Any] | None = None,
        fallback: Callable[[Any], Any] | None = None,
        encoded: bool = False,
    ) -> None:
        self._elements = elements
        self.encode = encode
        self.fallback = fallback
        self.encoded = encoded

    def __iter__(self) -> Iterator[Any]:
        return iter(self._elements)


BATCH = 1024  # elements encoded by one orjson call: a few MB of findings at most


def encode(value: Any, pretty: bool, depth: int) -> bytes:
    """``value`` as JSON text, indented (with ``pretty``) as an element at nesting ``depth`` is."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0)
    except (TypeError, orjson.JSONEncodeError):
        # What orjson refuses and the standard library takes (big integers, non-string keys).
        separators = (",", ": ") if pretty else (",", ":")
        text = json.dumps(
            value, ensure_ascii=False, indent=2 if pretty else None, separators=separators
        ).encode()
    return _indented(text, pretty, depth)


def _indented(text: bytes, pretty: bool, depth: int) -> bytes:
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
            out.write(encode(value, pretty, 1))
    out.write(newline + b"}" if document else b"}")
    if pretty:
        out.write(b"\n")


def _write_stream(stream: Stream, out: IO[bytes], pretty: bool) -> None:
    if not pretty and not stream.encoded:
        _write_batches(stream, out)
        return
    opening, separator, closing = (b"[\n    ", b",\n    ", b"\n  ]") if pretty else (b"[", b",", b"]")
    empty = True
    for element in stream:
        out.write(opening if empty else separator)
        out.write(
            _indented(element, pretty, 2) if stream.encoded else _encode_element(stream, element, pretty, 2)
        )
        empty = False
    out.write(b"[]" if empty else closing)


def _write_batches(stream: Stream, out: IO[bytes]) -> None:
    """Compact: ``[a,b,...]`` of each batch is what one orjson call of the batch's list gives."""
    elements = iter(stream)
    to_encodable = stream.encode
    opening = b"["
    while batch := list(islice(elements, BATCH)):
        try:
            text = orjson.dumps(batch if to_encodable is None else list(map(to_encodable, batch)))
        except (TypeError, orjson.JSONEncodeError):  # an element orjson refuses: each on its own
            text = b"[" + b",".join(_encode_element(stream, element, False, 2) for element in batch) + b"]"
        out.write(opening)
        out.write(memoryview(text)[1:-1])
        opening = b","
    out.write(b"[]" if opening == b"[" else b"]")


def _encode_element(stream: Stream, element: Any, pretty: bool, depth: int) -> bytes:
    if stream.encode is None:
        return encode(element, pretty, depth)
    try:
        text = orjson.dumps(stream.encode(element), option=orjson.OPT_INDENT_2 if pretty else 0)
    except (TypeError, orjson.JSONEncodeError):
        return encode(
            stream.encode(element) if stream.fallback is None else stream.fallback(element), pretty, depth
        )
    return _indented(text, pretty, depth)
