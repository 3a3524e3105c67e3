"""The sections of a document, and whether each says anything: shared by collectors of documents and cards.

Collectors may not import each other, so the built-in ``documents`` and ``modelcards`` collectors (and any
third-party collector of written documents) share these from ``annexa.plugins``:

- :func:`read_front_matter` cuts YAML front matter (``---`` ... ``---``) off a Markdown text, leniently
  (byte order mark, leading blank lines, CRLF) where that is safe and strictly where it is not (never
  closed, a second block); :func:`split_front_matter` is the same without line numbers;
- :func:`markdown_blocks` reads a Markdown body (CommonMark with tables, through markdown-it-py) into
  :class:`TextBlock` items: headings and body text, in order. A heading inside a fenced code block or an
  HTML comment is not a heading; text inside an HTML comment is not text;
- :func:`has_content` says whether some body text says something: blank lines, markup, placeholders
  (TBD, TODO, ``[insert date]``, ``{{ template_variable }}``, lorem ipsum, ...), a template's instruction
  sentences and a line that only repeats its section's heading do not;
- :func:`empty_sections` names the headings whose section (with its subsections) says nothing.

Formats other than Markdown (DOCX paragraphs, PDF text lines, Confluence pages) are turned into
:class:`TextBlock` items by their collector and judged by the same two functions, so a placeholder is a
placeholder in every format.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


class TextBlock(NamedTuple):
    """A heading (``level`` 1 and deeper, ``text`` its plain text) or body text (``level`` 0, one or more
    lines)."""

    level: int
    text: str


# -- Markdown structure -------------------------------------------------------------------------------


class FrontMatter(NamedTuple):
    """YAML front matter cut off a Markdown text, with where it sits in the file."""

    text: str | None  # the YAML between the ``---`` lines (LF line endings); None: no front matter
    line: int  # 1-based file line on which ``text`` starts (the line after the opening ``---``)
    body: str  # the rest of the file


class FrontMatterError(ValueError):
    """Front matter that cannot be read safely: never closed, or followed by a second block."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line  # 1-based file line the problem is on
        self.message = message


_KEY_LINE = re.compile(r"^\s*[^\s#:\-][^:]*:(?:\s|$)")


def _bare(line: str) -> str:
    """A line as compared with ``---``: without a byte order mark, surrounding blanks or line ending."""
    return line.replace("\ufeff", "").strip()


def read_front_matter(text: str) -> FrontMatter:
    """Cut YAML front matter off a Markdown text, leniently where that is safe and strictly where not.

    Lenient: a UTF-8 byte order mark, blank lines before the opening ``---`` and CRLF (or CR) line
    endings are accepted; ``line`` then says where the YAML really starts, so messages point into the file.
    Strict (:class:`FrontMatterError`, naming the line): an opening ``---`` that is never closed, and a
    second ``---`` block of metadata right after the first (only blank lines between), which would
    otherwise be read as a thematic break and a heading and its keys silently lost.
    """
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    opening = next((index for index, line in enumerate(lines) if _bare(line)), None)
    if opening is None or _bare(lines[opening]) != "---":
        return FrontMatter(None, 1, text.removeprefix("\ufeff"))
    closing = next((i for i in range(opening + 1, len(lines)) if _bare(lines[i]) in ("---", "...")), None)
    if closing is None:
        raise FrontMatterError(
            opening + 1, f"front matter opened with '---' on line {opening + 1} is never closed"
        )
    after = next((i for i in range(closing + 1, len(lines)) if _bare(lines[i])), None)
    if after is not None and _bare(lines[after]) == "---":
        end = next((i for i in range(after + 1, len(lines)) if _bare(lines[i]) in ("---", "...")), None)
        if end is not None and any(_KEY_LINE.match(line) for line in lines[after + 1 : end]):
            raise FrontMatterError(
                after + 1,
                f"a second '---' block of metadata (lines {after + 1}-{end + 1}) follows the front matter "
                f"(lines {opening + 1}-{closing + 1}); its keys would be lost: merge the two blocks",
            )
    front = "\n".join(line.rstrip("\r\n") for line in lines[opening + 1 : closing])
    return FrontMatter(front, opening + 2, "".join(lines[closing + 1 :]))


def split_front_matter(text: str) -> tuple[str | None, str]:
    """``(front matter, body)`` of a Markdown text, as :func:`read_front_matter` reads them (which also
    says on which line the front matter starts).

    :raises FrontMatterError: (a ``ValueError``) the front matter is never closed, or a second block follows.
    """
    found = read_front_matter(text)
    return found.text, found.body


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # CommonMark as GitHub and the Hugging Face Hub render it (both add tables), HTML blocks recognised
    # so that comments are comments. Rendering is never used: only the token stream.
    return MarkdownIt("commonmark", {"html": True}).enable("table")


def markdown_blocks(text: str) -> tuple[TextBlock, ...]:
    """Headings and body text of a Markdown body (front matter already cut off), in document order.

    Code blocks are body text. A table's header row names columns and is left out; each body cell is
    one text. An HTML block counts for the text between its tags, without its comments.
    """
    tokens = _parser().parse(text)
    blocks: list[TextBlock] = []
    in_header = False
    heading: int | None = None
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading = int(token.tag[1:])
        elif kind == "heading_close":
            heading = None
        elif kind == "thead_open":
            in_header = True
        elif kind == "thead_close":
            in_header = False
        elif kind == "inline":
            if heading is not None:
                blocks.append(TextBlock(heading, _plain(token)))
            elif not in_header:
                blocks.append(TextBlock(0, token.content))
        elif kind in ("fence", "code_block"):
            blocks.append(TextBlock(0, token.content))
        elif kind == "html_block":
            shown = _TAG.sub(" ", _strip_comments(token.content))
            if shown.strip():
                blocks.append(TextBlock(0, shown))
    return tuple(blocks)


def _plain(inline: Token) -> str:
    """The text a reader sees in a heading: markup, link targets and inline HTML (comments) left out."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "text_special", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_plain(child))
    return " ".join("".join(parts).split())


# -- placeholder text ---------------------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)  # an unclosed comment runs to the end
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")
# A template comment, {# ... #}, holds at most TEMPLATE_COMMENT characters (_template_comments_out).
TEMPLATE_COMMENT = 2000
# An unfilled hole in a template: a line holding one was not finished, whatever else it says. Template
# holes ({{ var }}, {% tag %}, at most TEMPLATE_HOLE characters inside) are found by _has_template_hole; the
# bracketed prompts here. (Every repetition is bounded, so a hostile line cannot make a search quadratic.)
TEMPLATE_HOLE = 500
_HOLE = re.compile(
    r"\[\s*(?:insert|enter|add|your|more information needed|tbd|tbc|todo)\b[^\]]{0,200}\](?![(\[])"
    r"|<\s*(?:insert|enter|add|your)\b[^>]{0,200}>",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"^\s*(?:[-*+>|#]|\d+[.)])\s*")
# "**Developed by:** value", "Owner: value": the label is not content, its value is.
_LABEL = re.compile(r"^\W*\w[\w ()\[\]/,'&-]{0,60}?\s*:\W*\s+(?=\S)|^\W*\w[\w ()\[\]/,'&-]{0,60}:\W*$")
_PLACEHOLDER_WORDS = (
    r"tbd|tbc|tba|todo|fixme|xxx+|placeholder|lorem ipsum|coming soon|"
    r"more (?:information|info|details) (?:is |are )?needed|needs more information|"
    r"to be (?:added|completed|defined|determined|confirmed|decided|agreed|written|provided|updated|"
    r"documented|announced)"
)
_PLACEHOLDER = re.compile(rf"^[\s\[(*_`\"'<{{]*(?:{_PLACEHOLDER_WORDS})(?!\w)", re.IGNORECASE)
_NOT_APPLICABLE = re.compile(r"^[\s\[(*_`\"'<{]*(?:n/?a|not applicable)(?!\w)", re.IGNORECASE)
_BRACKETED = re.compile(r"^[\s*_`]*(?:\[[^\]]*\]|<[^>]*>)[\s*_`.]*$")
_AUTOLINK = re.compile(r"^[\s*_`]*<(?:[a-z][a-z0-9+.-]*:|[^\s@>]+@)", re.IGNORECASE)
# Sentences that templates write by themselves (Hugging Face model and dataset cards, transformers'
# generated cards, Word content controls): text nobody wrote about this model or document.
_BOILERPLATE = re.compile(
    r"users (?:\(both direct and downstream\) )?should be made aware of the risks, biases and "
    r"limitations of the (?:model|dataset)\.?"
    r"|use the code below to get started with the model\.?"
    r"|carbon emissions can be estimated using the .*impact calculator.*"
    r"|this is the model card of an? .{0,40}model that has been pushed on the hub\.?"
    r"|this model card has been automatically generated\.?"
    r"|click (?:or tap )?here to enter (?:text|a date)\.?"
    r"|choose an item\.?",
    re.IGNORECASE,
)


def _strip_comments(text: str) -> str:
    """``text`` without HTML comments (an unclosed one runs to the end) and template comments."""
    return _template_comments_out(_COMMENT.sub(" ", text))


def _enclosed(text: str, opening: str, closing: str, limit: int) -> Iterator[tuple[int, int]]:
    """Where ``opening``, at most ``limit`` characters, then ``closing`` stand in ``text``, left to right and
    not overlapping: what ``re.finditer`` gives for ``opening.{0,limit}?closing`` (with DOTALL), in linear
    time. The regular expression tried up to ``limit`` characters after every opening: 100,000 openings
    in a hostile line took seconds. Here the next closing is found once and kept while it still lies ahead.
    """
    close = -1
    start = text.find(opening)
    while start >= 0:
        inside = start + len(opening)
        if close < inside:
            close = text.find(closing, inside)
            if close < 0:
                return
        if close - inside <= limit:
            yield start, close + len(closing)
            start = text.find(opening, close + len(closing))
        else:
            start = text.find(opening, start + 1)


def _template_comments_out(text: str) -> str:
    """``text`` with each template comment ({# ... #}) replaced by a space."""
    parts: list[str] = []
    at = 0
    for start, end in _enclosed(text, "{#", "#}", TEMPLATE_COMMENT):
        parts += (text[at:start], " ")
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _has_template_hole(line: str) -> bool:
    """Whether ``line`` holds {{ ... }} or {% ... %} (at most TEMPLATE_HOLE characters inside)."""
    return any(next(_enclosed(line, *marks, TEMPLATE_HOLE), None) for marks in (("{{", "}}"), ("{%", "%}")))


def has_content(
    texts: Iterable[str],
    *,
    heading: str | None = None,
    not_applicable_is_content: bool = True,
    restated: Collection[str] = (),
) -> bool:
    """True when some line of ``texts`` says something.

    A line says nothing when it is blank or markup, is a placeholder (it *starts* with TBD, TODO, TBC,
    FIXME, XXX, "More information needed", "Coming soon", "To be completed/defined/determined" ...,
    or is one bracketed prompt such as ``[optional]`` or ``<Your name>``), holds an unfilled template hole
    (``{{ var }}``, ``[insert date]``, ``<insert owner>``, ``[More Information Needed]``), contains lorem
    ipsum, is only template boilerplate sentences, only repeats ``heading``, or is a ``Label: value``
    line whose value is a placeholder or only repeats ``restated`` values (a card's own metadata, which
    a template copies into its text). A line that merely *mentions* TBD later ("dates are TBD until Q3")
    says something.

    ``not_applicable_is_content``: whether "N/A" alone is an answer. In a policy ("Exceptions: N/A") it
    is; in a model card's limitations or risks it is not, and a card collector passes False.
    """
    echoed = _words(heading) if heading is not None else None
    known = {_normal(value) for value in restated if _normal(value)}
    lines = _strip_comments("\n".join(texts)).splitlines()
    return any(_says_something(line, echoed, not_applicable_is_content, known) for line in lines)


def _says_something(
    line: str, echoed: tuple[str, ...] | None, not_applicable_is_content: bool, known: set[str]
) -> bool:
    if _has_template_hole(line) or _HOLE.search(line):
        return False
    stripped = line
    while _MARKUP.match(stripped) and stripped.strip():
        stripped = _MARKUP.sub("", stripped, count=1)
    stripped = stripped.strip().strip("|").strip()
    if echoed and _words(stripped) == echoed:
        return False
    if _is_residue(stripped, not_applicable_is_content):
        return False
    label = _LABEL.match(stripped)
    if label is None:
        return True
    value = stripped[label.end() :].strip()
    if _is_residue(value, not_applicable_is_content):
        return False
    parts = [_normal(part) for part in re.split(r"[,;]", value)]
    return not (known and all(part in known for part in parts if part))


def _is_residue(text: str, not_applicable_is_content: bool) -> bool:
    if not re.search(r"\w", text):
        return True
    if _PLACEHOLDER.match(text) or (not not_applicable_is_content and _NOT_APPLICABLE.match(text)):
        return True
    if _BRACKETED.match(text) and not _AUTOLINK.match(text):
        return True
    if "lorem ipsum" in text.lower():
        return True
    rest = _BOILERPLATE.sub(" ", " ".join(text.split()))
    if rest.strip() == " ".join(text.split()):
        return False  # no boilerplate in it
    return not re.search(r"\w", rest) or bool(_PLACEHOLDER.match(rest))


def _words(text: str) -> tuple[str, ...]:
    """Lower-case words, leading section numbers ("2.1 Scope") left out."""
    words = re.findall(r"\w+", text.lower())
    while words and words[0].isdigit():
        words.pop(0)
    return tuple(words)


def _normal(value: str) -> str:
    return " ".join(re.sub(r"[\[\]'\"`*_]", " ", str(value)).lower().split())


# -- sections -----------------------------------------------------------------------------------------


def empty_sections(blocks: Sequence[TextBlock], *, not_applicable_is_content: bool = True) -> tuple[str, ...]:
    """Headings, in order, whose section says nothing: neither its own text (up to the next heading)
    nor any of its subsections (up to the next heading of the same or a higher level) has content."""
    own: list[tuple[int, str, bool]] = []  # (level, heading, own text says something)
    body: list[str] = []
    for block in reversed(blocks):
        if block.level == 0:
            body.append(block.text)
            continue
        body.reverse()
        said = has_content(body, heading=block.text, not_applicable_is_content=not_applicable_is_content)
        own.append((block.level, block.text, said))
        body = []
    # Walking backwards, the headings after each one that are deeper are its subsections.
    later: list[tuple[int, bool]] = []
    empty: list[str] = []
    for level, heading, said in own:
        filled = said
        while later and later[-1][0] > level:
            filled = later.pop()[1] or filled
        later.append((level, filled))
        if not filled:
            empty.append(heading)
    empty.reverse()
    return tuple(empty)
