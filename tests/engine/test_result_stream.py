"""The JSON result written as a stream (orjson, element by element) holds exactly what json.dumps of the
whole result held: compact by default, and with --pretty the very text json.dumps(indent=2) gave."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, SCHEMAS, build, ev

from annexa.app.result import build_result
from annexa.cli.main import main
from annexa.files.jsonwriter import write_json
from annexa.lang.language import evaluate
from annexa.model.evidence import Bundle, write_bundle

RULES = """control A.6.2.8 "t" {
  rule named { for each x in svc require x.name != null message "svc {x.name} ünnamed" }
  rule big { for each x in svc require x.n < 3 }
  rule carded { for each x in svc require exists c in model_card where c.model == x.name }
}
"""


def _result(stream: bool, numbers: tuple[Any, ...] = (1, 2**70, 2.5e-7, 1e16)) -> dict[str, Any]:
    ruleset = build(RULES)
    items = [
        ev("svc", f"s{i}", {"name": f"é{i}", "n": numbers[i % len(numbers)]} if i % 4 else {})
        for i in range(9)
    ]
    items.append(ev("model_card", "c1", {"model": "é1"}))
    found = evaluate(ruleset, items, now=NOW, collected={"svc": None, "model_card": None})
    return build_result(found, ruleset.rules_by_control(), now=NOW, ruleset_digest=ruleset.digest,
                        extra={"observations": []}, stream=stream)  # fmt: skip


def _streamed(pretty: bool, numbers: tuple[Any, ...] = (1, 2**70, 2.5e-7, 1e16)) -> str:
    out = io.BytesIO()
    write_json(_result(stream=True, numbers=numbers), out, pretty=pretty)
    return out.getvalue().decode("utf-8")


def test_stream_holds_what_json_dumps_held() -> None:
    before = json.dumps(_result(stream=False), indent=2, sort_keys=False)
    assert json.loads(_streamed(pretty=False)) == json.loads(before)
    compact = json.dumps(json.loads(before), ensure_ascii=False, separators=(",", ":"))
    assert (
        json.dumps(json.loads(_streamed(pretty=False)), ensure_ascii=False, separators=(",", ":")) == compact
    )


def test_pretty_is_the_text_of_json_dumps_indent_2() -> None:
    # Byte for byte, but for numbers in exponent form, which orjson writes its own way (2.5e-7 for
    # json's 2.5e-07, 1e16 for 1e+16): the same numbers, as the test above checks.
    plain = (1, 2**70, 2.5, 0.001, -3)
    expected = json.dumps(_result(stream=False, numbers=plain), indent=2, ensure_ascii=False) + "\n"
    assert _streamed(pretty=True, numbers=plain) == expected
    assert json.loads(_streamed(pretty=True)) == json.loads(json.dumps(_result(stream=False)))


def test_cli_writes_compact_json_and_pretty_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = (ev("svc", "s1", {"name": "a", "n": 1}), ev("model_card", "c1", {"model": "a"}))
    bundle = tmp_path / "e.jsonl"
    schemas = {kind: SCHEMAS[kind] for kind in ("svc", "model_card")}
    write_bundle(bundle, Bundle(evidence=items, collected=dict.fromkeys(schemas), schemas=schemas))
    rules = tmp_path / "t.rule"
    rules.write_text(RULES, encoding="utf-8")
    base = ["evaluate", "--evidence", str(bundle), "--rules", str(rules), "--no-plugins", "--format", "json"]
    assert main([*base, "--output", str(tmp_path / "r.json")]) == 0
    compact = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "\n" not in compact.strip()
    assert main([*base, "--pretty"]) == 0
    pretty = capsys.readouterr().out
    assert pretty.startswith('{\n  "schema_version": 1,')
    assert json.loads(pretty) == json.loads(compact)


@pytest.mark.parametrize(
    "line",
    [
        '{"a": 1, "a": 2}',
        '{"n": 1180591620717411303424}',
        '{"n": 12345678901234567890.5}',
        '{"n": NaN}',
        '{"n": 1E400}',
        '{"s": "\\ud800"}',
        '{"s": "é\\u00e9", "f": -0.0, "g": 1e-7, "l": [true, null]}',
    ],
)
def test_bundle_lines_read_as_json_reads_them(line: str) -> None:
    from annexa.model.evidence import _UNREAD, _fast_loads

    found, expected = _fast_loads(line.encode()), json.loads(line)
    if found is _UNREAD:
        return  # json reads it, as before
    assert "1180591620717411303424" not in line  # orjson would have read it as a float
    assert json.dumps(found) == json.dumps(expected)  # same values and types (an int stays an int)


def test_broken_bundle_lines_keep_jsons_message(tmp_path: Path) -> None:
    from annexa.model.evidence import EvidenceFormatError, read_bundle

    bundle = tmp_path / "b.jsonl"
    bundle.write_text('{"kind": "x",\n', encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads('{"kind": "x",\n')
    with pytest.raises(EvidenceFormatError) as found:
        read_bundle(bundle)
    assert str(found.value) == f"{bundle}:1:{expected.value.colno}: not valid JSON: {expected.value.msg}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1E400", "1E400 is beyond the range of a number"),
        ('"\\udc80 left"', "a string holds a lone surrogate"),
        ('{"\\ud800": 1}', "a string holds a lone surrogate"),
    ],
)
def test_numbers_and_strings_json_allows_nowhere_are_refused_with_their_line(
    value: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # json reads them, but no evidence id can be computed from them (canonical JSON refuses them) and no
    # result could be written: they crashed evaluate with an internal error once a finding cited them.
    bundle = tmp_path / "b.jsonl"
    good = (
        '{"kind": "document", "source": "file:a.md", "scope": {}, "collector": "c", '
        '"collected_at": "2026-11-20T00:00:00Z", "data": {"owner": "Ann"}}'
    )
    bundle.write_text(good + "\n" + good.replace('"Ann"', value) + "\n", encoding="utf-8")
    assert main(["evaluate", "--evidence", str(bundle), "--format", "json"]) == 4
    error = capsys.readouterr().err
    assert error.startswith(f"annexa: error: {bundle}:2: not valid JSON: {reason}")
