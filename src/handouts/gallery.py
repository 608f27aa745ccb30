"""``output/index.html``: every built document at a glance, with a page-1 thumbnail.

Plain HTML and CSS with relative links, so it works opened straight from disk. Built from the
manifest, so documents skipped as up to date are shown too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import write_atomic
from .manifest import thumbnail_name

INDEX = "index.html"


def write_gallery(
    out_dir: Path, records: dict[str, dict[str, Any]], template_dirs: tuple[Path, ...]
) -> Path:
    """Write output/index.html from the manifest records."""
    from .render import template_env

    brands: dict[str, dict[str, Any]] = {}
    for output, record in sorted(records.items()):
        brand = brands.setdefault(
            output.split("/")[0], {"name": record.get("brand_name", ""), "documents": []}
        )
        # Computed, never read from the record: the manifest is data from disk.
        thumbnail = thumbnail_name(output)
        size = record.get("bytes", 0)
        brand["documents"].append(
            {
                **record,
                "output": output,
                "thumbnail": thumbnail if (out_dir / thumbnail).is_file() else None,
                "kb": round(size / 1024) if isinstance(size, int) else "?",
            }
        )
    html = (
        template_env(template_dirs)
        .get_template("gallery/index.html")
        .render(brands=brands, total=len(records))
    )
    target = out_dir / INDEX
    write_atomic(target, html)
    return target
