"""A scan's findings stored as an object of their own (manifest version 2): written and read a finding at
a time, checked on every read, by verify and in an auditor bundle."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_signing_bundle import exported, rewrite, run_verify  # noqa: F401  # exported: a fixture
from test_store import endpoint, finding_for, record, three_scans  # shared builders, same folder

from annexa.model.evidence import canonical_json
from annexa.model.findings import Finding, Severity, Status
from annexa.store import StoreError, finding_from_manifest, finding_to_manifest, open_store, verify_store
from annexa.store.manifest import findings_chunks, parse_findings

# Text a finding may carry: multi-byte characters a read can split, and the list's own punctuation.
TEXT = st.text(alphabet=st.sampled_from(list('ab é✓😀"\\\n],}{[:')), max_size=12)


@st.composite
def findings(draw: st.DrawFn) -> list[Finding]:
    item = endpoint("model", True)
    found = []
    for number in range(draw(st.integers(0, 6))):
        base = finding_for(item, draw(st.sampled_from(list(Status))), waived=draw(st.booleans()))
        found.append(
            replace(
                base,
                subject=f"{draw(TEXT)}#{number}",  # unique per finding, as the store requires
                message=draw(TEXT),
                severity=draw(st.sampled_from(list(Severity))),
                witness={draw(TEXT): draw(st.one_of(TEXT, st.integers(), st.none()))},
            )
        )
    return found


@settings(max_examples=200, deadline=None)
@given(found=findings(), size=st.integers(1, 40))
def test_a_findings_object_reads_back_at_any_read_size(found: list[Finding], size: int) -> None:
    payload = b"".join(findings_chunks(found))
    assert payload == canonical_json([finding_to_manifest(f) for f in found])  # the list's canonical JSON
    stream = io.BytesIO(payload)
    read_back = list(parse_findings(lambda _: stream.read(size), "object"))
    assert [finding_from_manifest(raw) for raw in read_back] == found


@settings(max_examples=100, deadline=None)
@given(found=findings().filter(bool), cut=st.floats(0, 1, exclude_max=True))
def test_a_cut_short_findings_object_is_refused(found: list[Finding], cut: float) -> None:
    payload = b"".join(findings_chunks(found))
    stream = io.BytesIO(payload[: int(len(payload) * cut)])
    with pytest.raises(StoreError, match="object: "):
        list(parse_findings(lambda size: stream.read(size), "object"))


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b'{"a": 1}', "not a JSON list"),
        (b"[1]", "a finding is not a JSON object"),
        (b'[{"a":1}]x', "bytes after the findings list"),
        (b'[{"a":1};{"b":2}]', "findings list broken"),
        (b"[\xff]", "not UTF-8"),
        (b"", "cut short"),
    ],
)
def test_what_is_not_a_findings_list_is_named(payload: bytes, says: str) -> None:
    stream = io.BytesIO(payload)
    with pytest.raises(StoreError, match=says):
        list(parse_findings(lambda size: stream.read(size), "findings/ab/x.json"))


def findings_file(root: Path, digest: str) -> Path:
    named = json.loads((root / "manifests" / digest[:2] / f"{digest}.json").read_bytes())["findings_object"]
    return root / "findings" / named["sha256"][:2] / f"{named['sha256']}.json"


def test_verify_and_load_refuse_findings_altered_removed_or_miscounted(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with open_store(root) as store:
        digests = three_scans(store)
        assert verify_store(store).ok
        target = findings_file(root, digests[1])
        original = target.read_bytes()
        label = target.relative_to(root).as_posix()

        target.write_bytes(original.replace(b'"status":"pass"', b'"status":"fail"'))
        first = verify_store(store).first_problem
        assert first is not None
        assert first.path == label
        assert "scan #2" in first.message
        assert "content digest is" in first.message
        assert "(tampered?)" in first.message
        with pytest.raises(StoreError, match="tampered"):
            store.load_scan(digests[1])

        target.unlink()
        first = verify_store(store).first_problem
        assert first is not None
        assert (first.path, "are missing" in first.message) == (label, True)
        with pytest.raises(StoreError, match="are missing"):
            store.load_scan(digests[1])

        target.write_bytes(original)
        assert verify_store(store).ok
        raw = store.read_manifest(digests[1])
        assert len(list(store.manifest_findings(raw))) == raw["findings_object"]["count"] == 1
        # A manifest whose count is not the object's (it could only be forged with the chain re-hashed).
        miscounted = {**raw, "findings_object": {**raw["findings_object"], "count": 2}}
        with pytest.raises(StoreError, match="holds 1 findings, the manifest says 2"):
            list(store.manifest_findings(miscounted))


def test_a_scan_of_no_findings_records_an_empty_list(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as store:
        items = store.put_evidence([endpoint("a", True)])
        digest = store.record_scan(replace(record(items, (Status.PASS,)), findings=()))
        assert findings_file(tmp_path / "s", digest).read_bytes() == b"[]"
        assert store.load_scan(digest).record.findings == ()
        assert verify_store(store).ok


def test_a_bundle_with_altered_findings_does_not_verify(
    exported: tuple[Path, Path],  # noqa: F811  # the fixture imported above
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle, key = exported
    with zipfile.ZipFile(bundle) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("findings/")]
        index = json.loads(archive.read("bundle.json"))
        altered = archive.read(name).replace(b'"status":"fail"', b'"status":"pass"', 1)
    assert name == f"findings/{index['files'][name][:2]}/{index['files'][name]}.json"
    index["files"][name] = hashlib.sha256(altered).hexdigest()  # the index re-hashed to match
    forged = rewrite(
        bundle, bundle.parent / "forged.zip", {name: altered, "bundle.json": json.dumps(index).encode()}
    )
    code, out, _ = run_verify(forged, key, capsys)
    assert code == 1
    assert f"first broken item: {forged}!{name}: findings do not match the manifest's digest" in out
