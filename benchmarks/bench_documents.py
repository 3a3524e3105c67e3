"""Benchmark: reading a Confluence space and an S3 prefix of governance documents, one document at a
time versus annexa's default of 8 at once.

Confluence: the local REST v2 fake of the tests (``tests/collectors/confluence_fake.py``) with a fixed
delay per request standing in for a remote site's round trip; each page costs its share of the page
list plus a labels and a properties request. S3: moto's server on 127.0.0.1 (no added delay); each
object costs get_object + get_object_tagging, plus the listing and version listing.

Run: .venv/bin/python benchmarks/bench_documents.py [--pages N] [--delay-ms D] [--objects N]
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "collectors"))

from confluence_fake import FakeConfluence, Page  # noqa: E402

from annexa.collectors import docstore  # noqa: E402
from annexa.plugins import CollectRequest  # noqa: E402

SPEC = next(iter(docstore.annexa_collectors()))
BODY = (
    '<ac:structured-macro ac:name="details"><ac:rich-text-body><table><tbody>'
    "<tr><th>Approver</th><td>Chief Risk Officer</td></tr><tr><th>Status</th><td>approved</td></tr>"
    "</tbody></table></ac:rich-text-body></ac:structured-macro><h2>Purpose</h2><p>Why.</p><h2>Scope</h2><p>TBD</p>"
)


def collect(source: dict[str, Any]) -> tuple[int, float]:
    request = CollectRequest(config={"sources": [source]}, kinds=frozenset(), now=datetime.now(UTC))
    started = time.perf_counter()
    count = sum(1 for _ in SPEC.factory().collect(request))
    return count, time.perf_counter() - started


def bench_confluence(pages: int, delay_ms: float) -> None:
    os.environ["BENCH_CONFLUENCE_TOKEN"] = "bench-token"
    with FakeConfluence(token="bench-token", delay_seconds=delay_ms / 1000) as server:
        server.add_space("GOV", [
            Page(str(i), f"Doc {i}", BODY, labels=("doctype-ai-policy",), properties={"owner": "COO"})
            for i in range(pages)
        ])  # fmt: skip
        for workers in (1, 8):
            server.requests.clear()
            settings = {"base_url": server.url, "space": "GOV", "token_env": "BENCH_CONFLUENCE_TOKEN",
                        "max_workers": workers}  # fmt: skip
            count, seconds = collect({"confluence": settings})
            print(f"confluence  {pages} pages, {delay_ms:g} ms/request, max_workers={workers}: "
                  f"{count} documents in {seconds:.2f} s, {len(server.requests)} requests")  # fmt: skip


def bench_s3(objects: int) -> None:
    import boto3

    from annexa.plugins.servers import MotoServer

    with MotoServer(Path(os.environ.get("TMPDIR", "/tmp")) / "bench-documents-moto.log") as moto:
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                          AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=moto.url)  # fmt: skip
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bench-documents")
        s3.put_bucket_versioning(Bucket="bench-documents", VersioningConfiguration={"Status": "Enabled"})
        for i in range(objects):
            body = b"# Doc\n\n## Purpose\n\nWhy.\n"
            tags = "annexa%3Atype=ai-policy&annexa%3Astatus=approved"
            s3.put_object(Bucket="bench-documents", Key=f"docs/doc-{i:04}.md", Body=body, Tagging=tags)
        for workers in (1, 8):
            count, seconds = collect({"s3": "s3://bench-documents/docs", "max_workers": workers})
            print(
                f"s3          {objects} objects, max_workers={workers}: {count} documents in {seconds:.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--delay-ms", type=float, default=20)
    parser.add_argument("--objects", type=int, default=300)
    args = parser.parse_args()
    bench_confluence(args.pages, args.delay_ms)
    bench_s3(args.objects)


if __name__ == "__main__":
    main()
