"""A published policy version as an A4 PDF (xhtml2pdf): the frozen text and its provenance."""

from __future__ import annotations

import io
import logging
import re
import unicodedata

from flask import render_template
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from governance.policies.models import Policy, PolicyRevision
from governance.policies.rendering import render_markdown

log = logging.getLogger(__name__)

# Nothing is fetched while rendering: no network at all and no local files. A policy body
# may hold an image link; a PDF is built on the server, where that link could reach internal
# addresses (SSRF) or stall the render, so it is drawn as nothing.
_NO_FETCHES = ResourceAccessPolicy(allow_remote=False, base_dir=None)
_REFUSED = "data:,"


class PdfError(Exception):
    """The PDF could not be rendered."""


def refuse_fetches(uri: str, rel: str | None) -> str:
    """xhtml2pdf's link_callback: every resource becomes an empty inline one; data: URIs
    (already part of the document) stay as they are."""
    if str(uri).startswith("data:"):
        return str(uri)
    log.info("PDF rendering refused to fetch %s", str(uri)[:200])
    return _REFUSED


def slugify(text: str, *, max_length: int = 60) -> str:
    """ASCII letters, digits and dashes, for file and folder names."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].strip("-") or "policy"


def pdf_filename(policy: Policy, version: PolicyRevision) -> str:
    return f"{slugify(version.title)}-v{version.version_label}.pdf"


def render_version_pdf(policy: Policy, version: PolicyRevision) -> bytes:
    """The PDF of a frozen version: its own title, body and category (not the working copy's),
    with label, publication, approvers and the full content hash."""
    html = render_template(
        "evidence/version_pdf.html",
        policy=policy,
        version=version,
        body_html=render_markdown(version.body),
        approvers=version.approvers or [],
    )
    output = io.BytesIO()
    result = pisa.CreatePDF(
        html,
        dest=output,
        encoding="utf-8",
        link_callback=refuse_fetches,
        resource_policy=_NO_FETCHES,
    )
    if result.err:
        raise PdfError(f"The PDF of version {version.version_label} could not be rendered.")
    return output.getvalue()
