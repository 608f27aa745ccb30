"""What the last build's preflight found on the printed pages: its warnings are kept in the
manifest (errors fail the document and are shown by the build), and `handouts check` lists
them beside the content's own findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Problem
from .report import Finding


def preflight_findings(records: dict[str, dict[str, Any]], out_shown: str) -> list[Finding]:
    """One warning per preflight finding recorded for a document, located in the document."""
    findings = []
    for output, record in sorted(records.items()):
        for item in record.get("preflight") or ():
            if not isinstance(item, dict):
                continue
            page, element = item.get("page"), item.get("element", "")
            problem = Problem(
                f"{Path(out_shown) / output}",
                f"page {page}, {element}: {item.get('message', '')}",
                hint=str(item.get("hint", "")),
            )
            findings.append(
                Finding(
                    "warning",
                    f"preflight.{item.get('rule', 'page')}",
                    problem,
                    handout=record.get("handout"),
                    language=record.get("language"),
                    brands=(str(record.get("brand")),) if record.get("brand") else (),
                    layouts=(str(record.get("layout")),) if record.get("layout") else (),
                )
            )
    return findings
