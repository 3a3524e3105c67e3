"""Auditor bundles: one zip holding a signed scan and everything needed to check it without the store.

Layout (``bundle.json`` indexes the rest; every file is named there with its SHA-256)::

    README.md                     for the auditor: what is inside, how to check it with or without annexa
    bundle.json                   index: scan, manifest digest, signature algorithm and key id, files
    attestation.dsse.json         the DSSE envelope signing the scan (in-toto Statement v1)
    manifest.json                 the scan's manifest, byte for byte as stored (its SHA-256 is signed)
    evidence/ab/abcd....json      every evidence item the manifest names, as stored (named by SHA-256)
    rules/0001.rule ...           the rule pack, each file with the path it was compiled under
    config.json                   the configuration, canonical JSON (its SHA-256 is the signed config digest)
    schemas.json                  the schemas of the evidence kinds the rules read
    soa.md, report.html           the Statement of Applicability and the readiness report of the scan

Reading a bundle checks its shape (:class:`BundleError`, exit 4: not a zip, truncated, no index);
:func:`check_bundle` then checks every digest and the signature and returns the problems (exit 1), each
naming the file it is about. Re-evaluating the findings is the application's part
(:mod:`annexa.app.auditbundle`), since it needs the rule language and the plugin host.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from annexa.files.atomic import atomic_writer
from annexa.model.evidence import sha256_hex
from annexa.store.manifest import findings_object_of
from annexa.store.verification import VerifyProblem
from annexa.trust.dsse import parse_envelope, verify_envelope
from annexa.trust.keys import ALGORITHM, TrustedKey, TrustError
from annexa.trust.statement import findings_digest, predicate_of

FORMAT: Final = "annexa-auditor-bundle"
VERSION: Final = 1
INDEX: Final = "bundle.json"
ENVELOPE: Final = "attestation.dsse.json"
MANIFEST: Final = "manifest.json"
CONFIG: Final = "config.json"
SCHEMAS: Final = "schemas.json"


class BundleError(TrustError):
    """The bundle cannot be read at all: not a zip, truncated, or without its index."""


def rule_pack_digest(sources: list[tuple[str, str]]) -> str:
    """The rule pack digest as :func:`annexa.lang.language.compile_rules` computes it."""
    digest = hashlib.sha256()
    for path, text in sorted(sources):
        digest.update(path.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def write_bundle(output: Path, files: Mapping[str, bytes], index: Mapping[str, Any]) -> None:
    """Write the zip atomically: it appears whole under ``output`` or not at all."""
    listed = {**index, "files": {name: sha256_hex(payload) for name, payload in sorted(files.items())}}
    with atomic_writer(output) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(INDEX, json.dumps(listed, indent=2, sort_keys=True) + "\n")
        for name, payload in sorted(files.items()):
            archive.writestr(name, payload)


@dataclass
class Bundle:
    """A bundle read into memory, before any check."""

    path: str
    index: dict[str, Any]
    files: dict[str, bytes]

    def get(self, name: str) -> bytes | None:
        return self.files.get(name)


def read_bundle(path: Path) -> Bundle:
    """:raises BundleError: not a zip (or truncated), or no readable ``bundle.json``."""
    try:
        with zipfile.ZipFile(path) as archive:
            files = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except FileNotFoundError as exc:
        raise BundleError(f"{path}: no such bundle") from exc
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise BundleError(f"{path}: not a readable zip archive (truncated or damaged?): {exc}") from exc
    except zipfile.LargeZipFile as exc:  # pragma: no cover - zip64 is on by default
        raise BundleError(f"{path}: {exc}") from exc
    raw = files.pop(INDEX, None)
    if raw is None:
        raise BundleError(f"{path}: no {INDEX} in the archive: not an annexa auditor bundle")
    try:
        index = json.loads(raw)
    except ValueError as exc:
        raise BundleError(f"{path}!{INDEX}: not JSON: {exc}") from exc
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise BundleError(f"{path}!{INDEX}: not an annexa auditor bundle (format {FORMAT!r} expected)")
    if index.get("version") != VERSION:
        raise BundleError(f"{path}!{INDEX}: bundle version {index.get('version')!r} is not {VERSION}")
    return Bundle(path=str(path), index=index, files=files)


@dataclass
class CheckedBundle:
    """What :func:`check_bundle` found: problems, and the verified parts for re-evaluation."""

    problems: list[VerifyProblem] = field(default_factory=list)
    predicate: Mapping[str, Any] | None = None
    manifest: dict[str, Any] | None = None
    rule_sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] | None = None
    schemas: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, bytes] = field(default_factory=dict)

    def problem(self, bundle: Bundle, name: str, message: str, expected: str | None = None,
                actual: str | None = None) -> None:  # fmt: skip
        self.problems.append(VerifyProblem(path=f"{bundle.path}!{name}", message=message, expected=expected,
                                           actual=actual))  # fmt: skip


def check_bundle(bundle: Bundle, key: TrustedKey) -> CheckedBundle:
    """Check every file's digest, the signature, and that the signed statement names these files."""
    checked = CheckedBundle()
    listed: Mapping[str, str] = bundle.index.get("files") or {}
    for name in sorted(set(bundle.files) - set(listed)):
        checked.problem(bundle, name, f"not listed in {INDEX} (added after export)")
    for name, digest in sorted(listed.items()):
        payload = bundle.get(name)
        if payload is None:
            checked.problem(bundle, name, f"listed in {INDEX} but missing from the archive")
        elif sha256_hex(payload) != digest:
            checked.problem(bundle, name, "content does not match its digest in the index (altered or "
                            "swapped)", expected=digest, actual=sha256_hex(payload))  # fmt: skip
    signature = bundle.index.get("signature") or {}
    if signature.get("algorithm") != ALGORITHM:
        checked.problem(bundle, INDEX, f"signature algorithm {signature.get('algorithm')!r} is not supported "
                        f"(annexa signs and verifies {ALGORITHM} only)")  # fmt: skip
        return checked
    envelope = bundle.get(ENVELOPE)
    if envelope is None:
        checked.problem(bundle, ENVELOPE, "missing: the bundle carries no signature")
        return checked
    try:
        statement = verify_envelope(parse_envelope(envelope, ENVELOPE), key, ENVELOPE)
        predicate = predicate_of(statement, ENVELOPE)
    except TrustError as exc:
        checked.problems.append(VerifyProblem(path=f"{bundle.path}!{ENVELOPE}", message=str(exc)))
        return checked
    checked.predicate = predicate
    _check_manifest(bundle, checked, predicate, statement)
    _check_inputs(bundle, checked, predicate)
    return checked


def _check_manifest(bundle: Bundle, checked: CheckedBundle, predicate: Mapping[str, Any],
                    statement: Mapping[str, Any]) -> None:  # fmt: skip
    payload = bundle.get(MANIFEST)
    signed = predicate["manifest"].get("sha256")
    if payload is None:
        checked.problem(bundle, MANIFEST, "missing")
        return
    if sha256_hex(payload) != signed:
        checked.problem(bundle, MANIFEST, "is not the signed manifest (altered or swapped)", expected=signed,
                        actual=sha256_hex(payload))  # fmt: skip
        return
    manifest: dict[str, Any] = json.loads(payload)
    checked.manifest = manifest
    findings = _findings(bundle, checked, manifest, predicate)
    if findings is None:
        return
    subjects = {s["digest"]["sha256"] for s in statement.get("subject") or () if isinstance(s, dict)}
    cited = set(manifest["evidence"]) | {ref["id"] for f in findings for ref in f["evidence"]}
    for digest in sorted(cited):
        name = f"evidence/{digest[:2]}/{digest}.json"
        payload = bundle.get(name)
        if payload is None:
            checked.problem(bundle, name, "evidence the scan rests on is missing from the bundle")
        elif sha256_hex(payload) != digest:
            checked.problem(bundle, name, "evidence content does not match its name (swapped or altered)",
                            expected=digest, actual=sha256_hex(payload))  # fmt: skip
        else:
            checked.evidence[digest] = payload
        if digest in manifest["evidence"] and digest not in subjects:
            checked.problem(bundle, name, "evidence is not a subject of the signed statement")


def _findings(bundle: Bundle, checked: CheckedBundle, manifest: Mapping[str, Any],
              predicate: Mapping[str, Any]) -> list[dict[str, Any]] | None:  # fmt: skip
    """The manifest's findings (inline, or its findings object in the bundle) once their digest is the
    signed one; None after noting why not."""
    named = findings_object_of(manifest)
    if named is None:
        findings: list[dict[str, Any]] = manifest["findings"]
        digest, where = findings_digest(findings), MANIFEST
    else:
        where = findings_file(named.sha256)
        payload = bundle.get(where)
        if payload is None:
            checked.problem(bundle, where, "the scan's findings are missing from the bundle")
            return None
        digest = sha256_hex(payload)
        if digest != named.sha256:
            checked.problem(bundle, where, "findings do not match the manifest's digest (altered or swapped)",
                            expected=named.sha256, actual=digest)  # fmt: skip
            return None
        findings = json.loads(payload)
    if digest != predicate.get("findings_digest"):
        checked.problem(bundle, where, "findings digest differs from the signed one",
                        expected=str(predicate.get("findings_digest")), actual=digest)  # fmt: skip
    return findings


def findings_file(digest: str) -> str:
    """Where a bundle keeps a scan's findings object (as the store names it)."""
    return f"findings/{digest[:2]}/{digest}.json"


def _check_inputs(bundle: Bundle, checked: CheckedBundle, predicate: Mapping[str, Any]) -> None:
    config = bundle.get(CONFIG)
    if config is None or sha256_hex(config) != predicate.get("config_digest"):
        checked.problem(bundle, CONFIG, "is not the configuration the scan was signed with",
                        expected=str(predicate.get("config_digest")),
                        actual=None if config is None else sha256_hex(config))  # fmt: skip
    else:
        checked.config = json.loads(config)
    sources = []
    for entry in bundle.index.get("rules") or ():
        text = bundle.get(entry["file"])
        if text is None:
            checked.problem(bundle, entry["file"], "rule file listed in the index is missing")
            continue
        sources.append((str(entry["path"]), text.decode("utf-8")))
    if rule_pack_digest(sources) != predicate.get("rule_pack_digest"):
        checked.problem(bundle, "rules/", "the rule files are not the rule pack the scan was signed with",
                        expected=str(predicate.get("rule_pack_digest")),
                        actual=rule_pack_digest(sources))  # fmt: skip
    else:
        checked.rule_sources = sources
    schemas = bundle.get(SCHEMAS)
    checked.schemas = json.loads(schemas) if schemas is not None else {}
