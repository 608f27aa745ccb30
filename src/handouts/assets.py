"""Where built-in templates and fonts live, which font families exist, and brand image checks.

Shipped assets are found through ``builtin_dir`` only, never through the working directory,
so an installed wheel works from any folder.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000
FONT_STYLES = {
    "Regular": (400, "normal"),
    "Bold": (700, "normal"),
    "Italic": (400, "italic"),
    "BoldItalic": (700, "italic"),
}


def builtin_dir(kind: str) -> Path:
    """The built-in ``templates`` or ``fonts`` folder: inside the wheel, or the source tree."""
    for candidate in (_PACKAGE / "_data" / kind, _PACKAGE.parents[1] / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the built-in {kind} folder is missing; reinstall handouts")


@dataclass(frozen=True, slots=True)
class FontFace:
    family: str
    path: Path
    weight: int
    style: str


def _family_name(stem: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)


@cache
def _scan_fonts(folders: tuple[Path, ...]) -> dict[str, tuple[FontFace, ...]]:
    families: dict[str, list[FontFace]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.[ot]tf")):
            stem, _, style = path.stem.partition("-")
            if style not in FONT_STYLES:
                continue
            weight, font_style = FONT_STYLES[style]
            name = _family_name(stem)
            families.setdefault(name, []).append(FontFace(name, path.resolve(), weight, font_style))
    return {name: tuple(faces) for name, faces in families.items()}


def font_families(folders: tuple[Path, ...]) -> dict[str, tuple[FontFace, ...]]:
    """Font families in ``folders`` (earlier folders win), from files named Family-Style.ttf."""
    merged: dict[str, tuple[FontFace, ...]] = {}
    for folder in reversed(folders):
        merged.update(_scan_fonts((folder,)))
    return merged


# ---------------------------------------------------------------- brand images

_SVG_FORBIDDEN = [
    (re.compile(rb"<!DOCTYPE", re.I), "must not contain a DOCTYPE"),
    (re.compile(rb"<!ENTITY", re.I), "must not declare entities"),
    (
        re.compile(rb"<\s*(?:[\w-]+:)?(?:image|use|script|foreignObject|iframe)\b", re.I),
        "must not contain <image>, <use>, <script> or <foreignObject> elements",
    ),
    (re.compile(rb"(?:xlink:)?href\s*=", re.I), "must not link to other files"),
    (re.compile(rb"url\(\s*['\"]?(?!#)", re.I), "must not load other files through url()"),
    (re.compile(rb"@import", re.I), "must not import style sheets"),
    (re.compile(rb"\\[0-9a-fA-F]"), "must not contain CSS escapes"),
]


def image_problem(path: Path) -> str | None:
    """Why the brand image at ``path`` may not be used, or None when it is fine."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if len(data) > MAX_IMAGE_BYTES:
        return f"is too large ({len(data):,} bytes; the limit is 2 MB)"
    suffix = path.suffix.lower()
    if suffix == ".svg":
        if b"<svg" not in data[:4096]:
            return "is not an SVG image"
        for pattern, message in _SVG_FORBIDDEN:
            if pattern.search(data):
                return message
        return None
    if suffix == ".png":
        if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 24:
            return "is not a PNG image"
        width, height = struct.unpack(">II", data[16:24])
    elif suffix in (".jpg", ".jpeg"):
        if not data.startswith(b"\xff\xd8"):
            return "is not a JPEG image"
        size = _jpeg_size(data)
        if size is None:
            return "is not a readable JPEG image"
        width, height = size
    else:
        return "must be an SVG, PNG or JPEG file"
    if width * height > MAX_IMAGE_PIXELS:
        return f"has too many pixels ({width} x {height}; the limit is 25 million)"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None
