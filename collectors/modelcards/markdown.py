"""Reading a Hugging Face style card: YAML metadata between ``---`` lines, then Markdown sections.

A section is *filled* when its text says something. Template residue does not: HTML comments,
``[More Information Needed]``, ``TODO``/``TBD``, Jinja holes (``{{ model_id }}``), bracketed template
prompts (``[optional]``, ``[Your name]``) and ``**Label:** [More Information Needed]`` lines whose
value is one of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from annexa.plugins import CollectorError


class UnreadableCard(CollectorError):
    """A card cannot be parsed; the message names the file and line."""


Block = tuple[int, str]  # (heading level, heading text), or (0, a body line)


@dataclass(frozen=True, slots=True)
class ParsedCard:
    metadata: dict[str, Any]
    blocks: tuple[Block, ...]
    title: str | None  # the first level-1 heading

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(text for level, text in self.blocks if level)


_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_MARKUP = re.compile(r"^\s*(?:[-*+>|]|\d+[.)])\s*")
# "**Developed by:** value", "Language(s) (NLP): value": the label is not content, its value is.
_LABEL = re.compile(r"^\W*\w[\w ()\[\]/,'&-]{0,60}?\s*:\W*\s+(?=\S)|^\W*\w[\w ()\[\]/,'&-]{0,60}:\W*$")
_PLACEHOLDER = re.compile(
    r"^[\s\[(*_`]*(?:tbd|todo|tba|n/?a|more information needed|needs more information|"
    r"more info needed|to be (?:added|completed|determined))\b",
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"^[\s*_`]*[\[<][^\]>]*[\]>][\s*_`.]*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
# Sentences the Hugging Face template fills in by itself.
_BOILERPLATE = frozenset({
    "users (both direct and downstream) should be made aware of the risks, biases and limitations of the "
    "model.",
    "use the code below to get started with the model.",
})  # fmt: skip


def read_card(data: bytes, where: str) -> ParsedCard:
    """Parse a card's bytes; ``where`` (the card's path) prefixes every error."""
    if b"\x00" in data:
        raise UnreadableCard(f"{where}: binary content, not a Markdown card")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableCard(f"{where}:{line}: not UTF-8 text (byte offset {exc.start})") from exc
    lines = text.splitlines()
    metadata: dict[str, Any] = {}
    body_start = 0
    if lines and lines[0].strip() == "---":
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if closing is None:
            raise UnreadableCard(f"{where}:1: metadata opened with '---' is never closed")
        metadata = _metadata("\n".join(lines[1:closing]), where)
        body_start = closing + 1
    blocks = _blocks(lines[body_start:])
    title = next((text for level, text in blocks if level == 1), None)
    return ParsedCard(metadata=metadata, blocks=tuple(blocks), title=title)


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


def _blocks(lines: Sequence[str]) -> list[Block]:
    """(level, heading) for headings and (0, line) for body text, in order; code blocks are text."""
    blocks: list[Block] = []
    fence: str | None = None
    previous_blank = True
    for line in lines:
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            blocks.append((0, line))
            continue
        opened = _FENCE.match(line)
        atx = _ATX.match(line)
        setext = _SETEXT.match(line)
        if opened:
            fence = opened.group(1)[0] * 3
            blocks.append((0, line))
        elif atx:
            blocks.append((len(atx.group(1)), (atx.group(2) or "").strip()))
        elif setext and not previous_blank and blocks and blocks[-1][0] == 0 and blocks[-1][1].strip():
            blocks[-1] = (1 if setext.group(1)[0] == "=" else 2, blocks[-1][1].strip())
        else:
            blocks.append((0, line))
        previous_blank = not line.strip()
    return blocks


def has_content(lines: Iterable[str]) -> bool:
    """True when some line says something that is not template residue."""
    return any(_says_something(line) for line in _lines(lines))


def _lines(lines: Iterable[str]) -> list[str]:
    """Body text without comments and Jinja holes; table rows split into cells, header rows dropped."""
    text = _JINJA.sub("", _HTML_COMMENT.sub("", "\n".join(lines)))
    items: list[str | list[str]] = []
    for line in text.splitlines():
        if _TABLE_RULE.match(line) and items and isinstance(items[-1], list):
            items.pop()  # the row above a |---| rule is the header: column names, not content
        elif line.lstrip().startswith("|"):
            items.append(line.strip().strip("|").split("|"))
        else:
            items.append(line)
    return [cell for item in items for cell in (item if isinstance(item, list) else [item])]


def _says_something(line: str) -> bool:
    stripped = line
    while _MARKUP.match(stripped) and stripped.strip():
        stripped = _MARKUP.sub("", stripped, count=1)
    if _is_residue(stripped.strip()):
        return False
    label = _LABEL.match(stripped)
    if label is not None:
        stripped = stripped[label.end() :]
    return not _is_residue(stripped.strip())


def _is_residue(text: str) -> bool:
    return (
        not re.search(r"\w", text)
        or bool(_PLACEHOLDER.match(text) or _BRACKETED.match(text))
        or "lorem ipsum" in text.lower()
        or " ".join(text.lower().split()) in _BOILERPLATE
    )
