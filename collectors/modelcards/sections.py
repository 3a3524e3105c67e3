"""The sections a card is expected to have, and the headings that count as each.

Headings follow the Hugging Face model and dataset card templates (``Bias, Risks, and Limitations``),
the ``Trainer`` generated cards (``Intended uses & limitations``, ``Training and evaluation data``)
and Google's Model Cards paper (``Ethical considerations``). One heading may stand for several
sections. A section's text includes its subsections, except those that stand for another section:
a filled ``Out-of-Scope Use`` under ``Uses`` does not fill the intended use.

A section is filled when :func:`annexa.plugins.has_content` finds real text in it. What a template leaves
behind is not: HTML comments (the template's instructions), ``[More Information Needed]`` and other
placeholders, Jinja holes, the template's own sentences ("Users ... should be made aware of the risks,
biases and limitations of the model."), ``**License:** mit`` lines that only repeat the card's metadata,
and "N/A" (every model has limitations and risks to state).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from annexa.collectors.modelcards.markdown import Block
from annexa.model.evidence import JSONValue
from annexa.plugins import has_content

_NOT_OUT_OF_SCOPE = r"^(?!.*(out[- ]of[- ]scope|misuse|prohibited|not intended))"

# Canonical name -> heading patterns, searched in the lower-cased heading.
MODEL_SECTIONS: Mapping[str, tuple[str, ...]] = {
    "model_description": (r"model (details|description|summary|overview)", r"^(description|overview)$"),
    "intended_use": (_NOT_OUT_OF_SCOPE + r".*(\buses?\b|intended|how to use)",),
    "out_of_scope_use": (r"out[- ]of[- ]scope", r"misuse", r"prohibited", r"not intended"),
    "limitations": (r"limitation",),
    "bias_risks": (r"\bbias", r"\brisks?\b", r"ethic", r"fairness"),
    "training_data": (r"training data", r"training and evaluation data", r"^data$", r"data sources"),
    "evaluation": (r"evaluation", r"\bresults?\b", r"\bmetrics?\b", r"performance"),
}

DATASET_SECTIONS: Mapping[str, tuple[str, ...]] = {
    "dataset_description": (r"dataset (description|summary|details)", r"^(description|summary)$"),
    "intended_use": (_NOT_OUT_OF_SCOPE + r".*(\buses?\b|intended|supported tasks)",),
    "dataset_structure": (r"structure", r"data fields", r"data instances", r"schema"),
    "collection": (r"creation", r"collection", r"source data", r"provenance", r"curation"),
    "personal_information": (r"personal", r"sensitive", r"privacy"),
    "bias_risks": (r"\bbias", r"\brisks?\b", r"social impact", r"ethic"),
    "limitations": (r"limitation",),
}


def assess(
    blocks: Sequence[Block], expected: Mapping[str, tuple[str, ...]], *, restated: Collection[str] = ()
) -> dict[str, JSONValue]:
    """``sections`` (canonical name -> heading and filled), and the filled, empty and missing names.

    ``restated``: the card's metadata values; a ``Label: value`` line that only repeats them fills nothing.
    """
    headings = [index for index, (level, _) in enumerate(blocks) if level]
    # A first level-1 heading is the card's title ("Credit risk model"): it stands for no section.
    title = headings[0] if headings and blocks[headings[0]][0] == 1 else None
    names = {
        index: set()
        if index == title
        else {name for name, patterns in expected.items() if _matches(blocks[index][1], patterns)}
        for index in headings
    }
    found: dict[str, JSONValue] = {}
    lists: dict[str, list[JSONValue]] = {"filled_sections": [], "empty_sections": [], "missing_sections": []}
    for name in expected:
        candidates = [
            (index, _is_filled(blocks, index, name, names, restated))
            for index in names
            if name in names[index]
        ]
        if not candidates:
            found[name] = {"heading": None, "filled": False}
            lists["missing_sections"].append(name)
            continue
        index, filled = next((c for c in candidates if c[1]), candidates[0])
        found[name] = {"heading": blocks[index][1], "filled": filled}
        lists["filled_sections" if filled else "empty_sections"].append(name)
    return {"sections": found, **lists}


def _matches(heading: str, patterns: tuple[str, ...]) -> bool:
    lowered = heading.lower()
    return any(re.search(pattern, lowered) for pattern in patterns)


def _is_filled(
    blocks: Sequence[Block],
    index: int,
    name: str,
    names: Mapping[int, set[str]],
    restated: Collection[str],
) -> bool:
    level = blocks[index][0]
    body: list[str] = []
    skip_below: int | None = None  # level of a subsection that stands for another section
    for inner in range(index + 1, len(blocks)):
        inner_level, text = blocks[inner]
        if 0 < inner_level <= level:
            break
        if skip_below is not None:
            if 0 < inner_level <= skip_below:
                skip_below = None
            else:
                continue
        if inner_level and names[inner] and name not in names[inner]:
            skip_below = inner_level
            continue
        if inner_level == 0:
            body.append(text)
    return has_content(body, heading=blocks[index][1], not_applicable_is_content=False, restated=restated)
