"""Reading a Hugging Face style card: YAML metadata between ``---`` lines, then Markdown sections.

The Markdown is read by :func:`annexa.plugins.markdown_blocks` (CommonMark, as the Hub renders it), the
same reader the documents collector uses: a heading inside a code block or an HTML comment is no heading.
Whether a section is filled is :func:`annexa.plugins.has_content`'s call, see
:mod:`annexa.collectors.modelcards.sections`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annexa.plugins import CollectorError, FrontMatterError, TextBlock, markdown_blocks, read_front_matter


class UnreadableCard(CollectorError):
    """A card cannot be parsed; the message names the file and line."""


Block = TextBlock  # (heading level, heading text), or (0, body text)


@dataclass(frozen=True, slots=True)
class ParsedCard:
    metadata: dict[str, Any]
    blocks: tuple[Block, ...]
    title: str | None  # the first level-1 heading
    lines: dict[str, int] = field(default_factory=dict)  # metadata key -> its line in the file

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(text for level, text in self.blocks if level)


def read_card(data: bytes, where: str) -> ParsedCard:
    """Parse a card's bytes; ``where`` (the card's path) prefixes every error.

    The metadata is read as the Hub writes it, and leniently where that is safe: after a byte order mark
    or blank lines, with CRLF line endings. Strictly where it is not: a key given twice, a second ``---``
    block, metadata never closed (see :func:`annexa.plugins.read_front_matter`).
    """
    if b"\x00" in data:
        raise UnreadableCard(f"{where}: binary content, not a Markdown card")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableCard(f"{where}:{line}: not UTF-8 text (byte offset {exc.start})") from exc
    try:
        front = read_front_matter(text)
    except FrontMatterError as exc:
        raise UnreadableCard(f"{where}:{exc.line}: {exc.message}") from exc
    metadata, lines = ({}, {}) if front.text is None else _metadata(front.text, where, front.line)
    blocks = markdown_blocks(front.body)
    title = next((text for level, text in blocks if level == 1), None)
    return ParsedCard(metadata=metadata, blocks=blocks, title=title, lines=lines)


def _metadata(text: str, where: str, first: int) -> tuple[dict[str, Any], dict[str, int]]:
    """The metadata mapping and the file line of each key; ``first`` is the file line ``text`` starts on."""
    import yaml  # on the first card read: registering the collector does not need it

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            raise UnreadableCard(
                f"{where}:{node.start_mark.line + first}: metadata must be a mapping of keys to values"
            )
        lines: dict[str, int] = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + first
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            if name is None:
                raise UnreadableCard(f"{where}:{line}: metadata keys must be plain names")
            if name in lines:
                raise UnreadableCard(
                    f"{where}:{line}: duplicate key {name!r} (first on line {lines[name]}): which value is "
                    "meant cannot be told; keep one"
                )
            lines[name] = line
        loaded = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first if mark is not None else first
        raise UnreadableCard(
            f"{where}:{line}: metadata is not valid YAML: {exc.problem or exc.context}"
        ) from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise UnreadableCard(f"{where}:{first}: metadata is not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return {str(key): value for key, value in loaded.items()}, lines
