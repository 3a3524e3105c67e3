"""Reading a Hugging Face style card: YAML metadata between ``---`` lines, then Markdown sections.

The Markdown is read by :func:`annexa.plugins.markdown_blocks` (CommonMark, as the Hub renders it), the
same reader the documents collector uses: a heading inside a code block or an HTML comment is no heading.
Whether a section is filled is :func:`annexa.plugins.has_content`'s call, see
:mod:`annexa.collectors.modelcards.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from annexa.plugins import CollectorError, TextBlock, markdown_blocks, split_front_matter


class UnreadableCard(CollectorError):
    """A card cannot be parsed; the message names the file and line."""


Block = TextBlock  # (heading level, heading text), or (0, body text)


@dataclass(frozen=True, slots=True)
class ParsedCard:
    metadata: dict[str, Any]
    blocks: tuple[Block, ...]
    title: str | None  # the first level-1 heading

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(text for level, text in self.blocks if level)


def read_card(data: bytes, where: str) -> ParsedCard:
    """Parse a card's bytes; ``where`` (the card's path) prefixes every error."""
    if b"\x00" in data:
        raise UnreadableCard(f"{where}: binary content, not a Markdown card")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableCard(f"{where}:{line}: not UTF-8 text (byte offset {exc.start})") from exc
    try:
        front, body = split_front_matter(text)
    except ValueError as exc:
        raise UnreadableCard(f"{where}:1: metadata opened with '---' is never closed") from exc
    metadata = {} if front is None else _metadata(front, where)
    blocks = markdown_blocks(body)
    title = next((text for level, text in blocks if level == 1), None)
    return ParsedCard(metadata=metadata, blocks=blocks, title=title)


def _metadata(text: str, where: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 2  # the metadata starts on line 2
        raise UnreadableCard(
            f"{where}:{line}: metadata is not valid YAML: {exc.problem or exc.context}"
        ) from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise UnreadableCard(f"{where}:2: metadata is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UnreadableCard(f"{where}:2: metadata must be a mapping of keys to values")
    return {str(key): value for key, value in loaded.items()}
