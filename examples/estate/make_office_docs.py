"""Write the demo estate's two office documents: a DOCX and a PDF, shaped the way organisations keep them.

- governance/policies/information-security-policy.docx: a Word document that carries its own metadata,
  as a document management system leaves it. Core properties: title, creator, category (the document
  type), contentStatus (the status), version and identifier; custom properties: owner, approver, the
  approval and review dates, the review interval and the related policies.
- governance/policies/privacy-policy.pdf: a PDF export whose info dictionary has what a word processor
  writes (/Title, /Author, /Subject, /Keywords with the document type) and whose bookmarks are its
  headings. The governance metadata lives next to it in privacy-policy.pdf.meta.yaml, the sidecar the
  documents collector overlays on a file's own fields.

Both are built from the text below with python-docx and pypdf (annexa's own dependencies), with fixed
timestamps, so running this again gives the same bytes::

    .venv/bin/python examples/estate/make_office_docs.py
"""

from __future__ import annotations

import io
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

POLICIES = Path(__file__).resolve().parent.parent / "governance" / "policies"
# Every timestamp inside the files (zip entries, document properties): the documents' approval day.
FIXED_ZIP_TIME = (2026, 1, 28, 9, 0, 0)


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    sections: tuple[tuple[str, str], ...]  # (level-2 heading, paragraph)


INFORMATION_SECURITY = Text(
    title="Information security policy",
    sections=(
        (
            "Purpose",
            "Protects the confidentiality, integrity and availability of Acme's information, including the "
            "models, training data and logs of its AI systems.",
        ),
        (
            "Requirements",
            "Access to production AI endpoints and training data follows least privilege and is reviewed "
            "quarterly. AI components from suppliers go through the same security assessment as any other "
            "supplier.",
        ),
        (
            "Relation to the AI policy",
            "The AI policy (POL-AI-001) relies on this policy for access control, logging and supplier "
            "security.",
        ),
    ),
)
INFORMATION_SECURITY_CORE = {
    "title": INFORMATION_SECURITY.title,
    "author": "Chief Information Security Officer",
    "category": "policy",
    "content_status": "approved",
    "version": "4.2",
    "identifier": "POL-SEC-001",
    "last_modified_by": "Chief Information Security Officer",
}
# (name as a document management system shows it, OOXML variant type, value)
INFORMATION_SECURITY_CUSTOM = (
    ("Owner", "lpwstr", "Chief Information Security Officer"),
    ("Approver", "lpwstr", "Executive Board"),
    ("Approved On", "filetime", "2026-01-28T00:00:00Z"),
    ("Last Reviewed", "filetime", "2026-01-28T00:00:00Z"),
    ("Review Interval Days", "i4", "365"),
    ("Next Review Due", "filetime", "2027-01-28T00:00:00Z"),
    ("Related Policies", "lpwstr", "POL-AI-001"),
)

PRIVACY = Text(
    title="Privacy and data protection policy",
    sections=(
        ("Purpose", "Sets how Acme processes personal data lawfully, fairly and transparently."),
        (
            "AI systems",
            "Personal data may be used to develop or operate an AI system only with a documented legal "
            "basis and a data protection impact assessment where the AI impact assessment identifies high "
            "risk.",
        ),
        (
            "Rights of individuals",
            "Customers can object to automated decisions and ask for human review through the privacy "
            "contact.",
        ),
    ),
)
PRIVACY_INFO = {
    "/Title": PRIVACY.title,
    "/Author": "Data Protection Officer",
    "/Subject": "How Acme processes personal data, including in its AI systems",
    "/Keywords": "policy",
    "/Creator": "Acme document export",
    "/CreationDate": "D:20251209090000Z",
    "/ModDate": "D:20251209090000Z",
}
PRIVACY_SIDECAR = """\
# Governance metadata of privacy-policy.pdf, kept by the document register (the PDF carries only its
# title, author and type keyword).
id: POL-PRIV-002
version: "3.0"
status: approved
owner: Data Protection Officer
approver: Executive Board
approved_on: 2025-12-09
last_reviewed: 2025-12-09
review_interval_days: 365
next_review_due: 2026-12-09
related_policies: [POL-AI-001]
"""


# -- DOCX ------------------------------------------------------------------------------------------

CUSTOM_PROPERTIES_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_PROPERTY_SET = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the fmtid of user-defined properties


def custom_properties_xml(properties: tuple[tuple[str, str, str], ...]) -> bytes:
    entries = "".join(
        f'<property fmtid="{_PROPERTY_SET}" pid="{pid}" name="{escape(name)}">'
        f"<vt:{vtype}>{escape(value)}</vt:{vtype}></property>"
        for pid, (name, vtype, value) in enumerate(properties, start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"{entries}</Properties>"
    ).encode()


def make_docx(
    text: Text, core: dict[str, str], custom: tuple[tuple[str, str, str], ...], moment: datetime
) -> bytes:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    document = docx.Document()
    properties = document.core_properties
    for name, value in core.items():
        setattr(properties, name, value)
    properties.created = properties.modified = moment
    properties.revision = 1
    properties.comments = ""  # python-docx leaves "generated by python-docx" here
    document.add_heading(text.title, level=1)
    control = document.add_table(rows=0, cols=2)
    for label, value in (
        ("Document", core["identifier"]),
        ("Version", core["version"]),
        ("Status", core["content_status"]),
        *((name, value.removesuffix("T00:00:00Z")) for name, _, value in custom[:3]),
    ):
        row = control.add_row().cells
        row[0].text, row[1].text = label, value
    for heading, paragraph in text.sections:
        document.add_heading(heading, level=2)
        document.add_paragraph(paragraph)
    package = document.part.package
    blob = custom_properties_xml(custom)
    part = Part(PackURI("/docProps/custom.xml"), CUSTOM_PROPERTIES_TYPE, blob, package)
    package.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_PROPERTIES)
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip_times(buffer.getvalue())


def fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every entry dated :data:`FIXED_ZIP_TIME` (python-docx stamps the clock)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


# -- PDF -------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 595, 842, 72  # A4, in points


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def page_content(lines: list[tuple[str, int, str]]) -> bytes:
    """A content stream showing ``(font, size, text)`` lines top-down (fonts /F1 regular, /F2 bold)."""
    ops = ["BT"]
    y = PAGE_HEIGHT - MARGIN
    for font, size, line in lines:
        y -= size + 6
        ops.append(f"/{font} {size} Tf 1 0 0 1 {MARGIN} {y} Tm {_pdf_string(line)} Tj")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def text_lines(text: Text) -> list[tuple[str, int, str]]:
    lines = [("F2", 18, text.title)]
    for heading, paragraph in text.sections:
        lines.append(("F2", 13, heading))
        lines.extend(("F1", 11, line) for line in textwrap.wrap(paragraph, 90))
    return lines


def make_pdf(text: Text, info: dict[str, str], lines: list[tuple[str, int, str]] | None = None) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)

    def font(base: str) -> DictionaryObject:
        return DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(base),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        })  # fmt: skip

    fonts = DictionaryObject({
        NameObject("/F1"): writer._add_object(font("/Helvetica")),  # pypdf: no public API for it
        NameObject("/F2"): writer._add_object(font("/Helvetica-Bold")),
    })  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    stream = DecodedStreamObject()
    stream.set_data(page_content(lines if lines is not None else text_lines(text)))
    page[NameObject("/Contents")] = writer._add_object(stream)
    top = writer.add_outline_item(title=text.title, page_number=0)
    for heading, _ in text.sections:
        writer.add_outline_item(title=heading, page_number=0, parent=top)
    writer.add_metadata(info)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def main() -> int:
    moment = datetime(2026, 1, 28, 9, 0, 0, tzinfo=UTC)
    outputs = {
        POLICIES / "information-security-policy.docx": make_docx(
            INFORMATION_SECURITY, INFORMATION_SECURITY_CORE, INFORMATION_SECURITY_CUSTOM, moment
        ),
        POLICIES / "privacy-policy.pdf": make_pdf(PRIVACY, PRIVACY_INFO),
        POLICIES / "privacy-policy.pdf.meta.yaml": PRIVACY_SIDECAR.encode(),
    }
    for path, data in outputs.items():
        path.write_bytes(data)
        print(f"wrote {path} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
