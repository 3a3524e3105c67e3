"""Auditor bundles, the application's part: gather a signed scan's files, and re-evaluate a bundle offline.

:mod:`annexa.trust.bundle` reads, writes and checks the digests and the signature of a bundle; this module
knows what a scan is made of (rule pack, configuration, kind schemas, evidence, the Statement of
Applicability) and re-runs the rules over the bundle's evidence, so an auditor sees the same findings to
the digest without the store that produced them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from annexa.app.scan import apply_policy, compile_for
from annexa.app.wiring import kind_registry
from annexa.audit.soa import Declaration, build_soa, exceptions_in_force, render_markdown, scan_info
from annexa.contract.yamlsrc import parse_yaml
from annexa.lang.language import compile_rules, evaluate, load_rule_sources
from annexa.lang.ruleset import RuleSource
from annexa.model.evidence import Evidence, canonical_json, sha256_hex
from annexa.store.manifest import finding_to_manifest, findings_object_of, record_from_manifest
from annexa.trust.bundle import (
    CONFIG,
    ENVELOPE,
    FORMAT,
    MANIFEST,
    SCHEMAS,
    VERSION,
    CheckedBundle,
    findings_file,
    rule_pack_digest,
)
from annexa.trust.keys import ALGORITHM, TrustError
from annexa.trust.statement import findings_digest

if TYPE_CHECKING:
    from annexa.plugins.config import Config
    from annexa.plugins.host import PluginHost
    from annexa.store import Store

README = """# Auditor bundle: scan {scan_id}

This archive holds one scan of an AI management system against ISO/IEC 42001:2023 Annex A, signed by its
producer, with everything needed to check it without access to their systems.

- `attestation.dsse.json`: the signature, a DSSE envelope (payload type
  `application/vnd.in-toto+json`) around an in-toto Statement v1 whose subjects are the evidence files
  and whose predicate is the scan result;
- `manifest.json`: the scan's manifest (findings, control results, what was collected); its SHA-256 is
  in the signed predicate;
- `evidence/`: every evidence item the scan rests on, each named by its SHA-256;
- `rules/`, `config.json`, `schemas.json`: the rule pack, the configuration and the evidence kinds'
  schemas the findings were computed with (the rule pack's and the configuration's digests are signed);
- `soa.md`, `report.html`: the Statement of Applicability and the readiness report (for reading);
- `bundle.json`: the index, every file with its SHA-256, the algorithm ({algorithm}) and the key id.

Signed by key `{keyid}` (SHA-256 of the raw Ed25519 public key). Ask the producer for the public key
through a channel you trust; a key that came inside the bundle would prove nothing.

To check everything, including re-evaluating the findings offline (exit 0: verified):

    annexa verify-bundle bundle.zip --trusted-key producer.pub.pem

To check the signature without annexa, any DSSE verifier will do; see docs/signing.md in the annexa
repository (a ten-line Python example with securesystemslib).
"""


def bundle_files(
    store: Store, reference: str, config: Config, host: PluginHost
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files of the bundle of scan ``reference`` (without the rendered report) and its index.

    :raises TrustError: the scan is unsigned, or the configuration's rules or settings are not the ones
        the scan was recorded with (a bundle must reproduce its findings exactly).
    """
    scan = store.load_scan(reference)
    record = scan.record
    envelope = store.read_attestation(scan.digest)
    if envelope is None:
        raise TrustError(f"scan {record.scan_id} is unsigned: there is nothing an auditor could verify "
                         "(sign scans with --sign-key or signing.key)")  # fmt: skip
    manifest = store.read_object("manifests", scan.digest)
    if manifest is None or sha256_hex(manifest) != scan.digest:
        raise TrustError(
            f"{store.object_label('manifests', scan.digest)}: missing or altered (run annexa verify)"
        )
    config_bytes = canonical_json(dict(config.raw))
    if sha256_hex(config_bytes) != record.config_digest:
        raise TrustError(f"{config.path} is not the configuration scan {record.scan_id} was recorded with "
                         f"(digest {sha256_hex(config_bytes)[:12]}, recorded {record.config_digest[:12]}): "
                         "export with the scan's own configuration")  # fmt: skip
    sources = load_rule_sources(list(config.rule_paths))
    pairs = [(source.path, source.text) for source in sources]
    if rule_pack_digest(pairs) != record.rule_pack_digest:
        raise TrustError(f"the rules of {config.path} (digest {rule_pack_digest(pairs)[:12]}) are not the "
                         f"rule pack scan {record.scan_id} was evaluated with "
                         f"({record.rule_pack_digest[:12]})")  # fmt: skip
    ruleset = compile_for(config, host)
    schemas = {kind: schema for spec in host.collectors().values() for kind, schema in spec.kinds.items()
               if kind in ruleset.kinds_read}  # fmt: skip
    files: dict[str, bytes] = {ENVELOPE: envelope, MANIFEST: manifest, CONFIG: config_bytes,
                               SCHEMAS: canonical_json(dict(sorted(schemas.items())))}  # fmt: skip
    named = findings_object_of(json.loads(manifest))
    if named is not None:  # a version-2 manifest names its findings: the bundle carries them
        findings = store.read_object("findings", named.sha256)
        if findings is None or sha256_hex(findings) != named.sha256:
            raise TrustError(
                f"{store.object_label('findings', named.sha256)}: missing or altered (run annexa verify)"
            )
        files[findings_file(named.sha256)] = findings
    cited = set(record.evidence_ids) | {ref.id for finding in record.findings for ref in finding.evidence}
    for digest in sorted(cited):
        payload = store.read_object("evidence", digest)
        if payload is None or sha256_hex(payload) != digest:
            raise TrustError(
                f"{store.object_label('evidence', digest)}: missing or altered (run annexa verify)"
            )
        files[f"evidence/{digest[:2]}/{digest}.json"] = payload
    rules = []
    for number, (path, text) in enumerate(sorted(pairs), start=1):
        name = f"rules/{number:04d}.rule"
        files[name] = text.encode("utf-8")
        rules.append({"path": path, "file": name})
    declarations = {a.control: Declaration(applicable=a.applicable, justification=a.justification)
                    for a in config.applicability}  # fmt: skip
    soa = build_soa(organization=config.organization, declarations=declarations,
                    exceptions=exceptions_in_force(config.exceptions, record.started_at.date()),
                    scan=scan_info(record.scan_id, record.started_at, record.rule_pack_digest),
                    controls=record.controls, findings=record.findings)  # fmt: skip
    files["soa.md"] = render_markdown(soa).encode("utf-8")
    keyid = json.loads(envelope)["signatures"][0]["keyid"]
    files["README.md"] = README.format(scan_id=record.scan_id, keyid=keyid, algorithm=ALGORITHM).encode()
    index = {
        "format": FORMAT,
        "version": VERSION,
        "scan_id": record.scan_id,
        "manifest": scan.digest,
        "signature": {"algorithm": ALGORITHM, "keyid": keyid, "envelope": ENVELOPE},
        "rules": rules,
    }
    return files, index


def reevaluate(checked: CheckedBundle, host: PluginHost, where: str) -> str:
    """Evaluate the bundle's rules over its evidence, as the scan did; returns the findings digest.

    Only on a bundle whose digests and signature checked out (``checked`` without problems).
    """
    from annexa.plugins.config import config_from_document

    if checked.manifest is None or checked.config is None or checked.problems:
        raise TrustError(f"{where}: re-evaluate only a bundle whose digests and signature verified")
    record = record_from_manifest(checked.manifest)
    config = config_from_document(parse_yaml(json.dumps(checked.config), f"{where}!{CONFIG}"),
                                  host.collectors())  # fmt: skip
    functions = {name: (spec.arity, spec.function) for name, spec in host.rule_functions().items()}
    sources = [RuleSource(path, text) for path, text in checked.rule_sources]
    kinds = kind_registry(host, checked.schemas)
    ruleset = compile_rules(sources, kinds, config.params, functions=functions)
    evidence = [Evidence.from_dict(json.loads(checked.evidence[d])) for d in record.evidence_ids]
    findings = evaluate(ruleset, evidence, now=record.started_at, collected=record.collected_by_kind(),
                        gaps=record.gaps_by_kind())  # fmt: skip
    findings = apply_policy(findings, config, record.started_at)
    return findings_digest([finding_to_manifest(finding) for finding in findings])
