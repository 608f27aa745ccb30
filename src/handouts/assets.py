"""Where built-in templates and fonts live, which font families exist, and brand image checks.

Shipped assets are found through ``builtin_dir`` only, never through the working directory,
so an installed wheel works from any folder.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

from .errors import Problem
from .files import FileRefused, inside, read_file, regular_file_problem

_PACKAGE = Path(__file__).resolve().parent

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000
MAX_FONT_BYTES = 32 * 1024 * 1024
# A family name reaches CSS (font-family, @font-face): letters, digits, spaces and dashes only.
_FAMILY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 -]{0,62}[A-Za-z0-9])?$")
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


def family_problem(name: str) -> str | None:
    """Why ``name`` may not be a font family name, or None."""
    if _FAMILY.fullmatch(name):
        return None
    return (
        "must be a font family name made of letters, digits, spaces and dashes, "
        "like Atkinson Hyperlegible"
    )


@cache
def _scan_fonts(
    folders: tuple[Path, ...],
) -> tuple[dict[str, tuple[FontFace, ...]], tuple[tuple[Path, str], ...]]:
    """The families in ``folders``, and the font files skipped with the reason why."""
    families: dict[str, list[FontFace]] = {}
    skipped: list[tuple[Path, str]] = []
    for folder in folders:
        for path in sorted(folder.glob("*.[ot]tf")):
            stem, _, style = path.stem.partition("-")
            if style not in FONT_STYLES:
                continue
            weight, font_style = FONT_STYLES[style]
            name = _family_name(stem)
            real = inside(path, (folder,))
            if family_problem(name):
                skipped.append(
                    (path, f"its family name '{name}' may only have letters, digits and spaces")
                )
            elif real is None:
                skipped.append((path, f"it is a link to a place outside {folder.name}/"))
            elif problem := regular_file_problem(real):
                skipped.append((path, f"it {problem}"))
            else:
                families.setdefault(name, []).append(FontFace(name, real, weight, font_style))
    return {name: tuple(faces) for name, faces in families.items()}, tuple(skipped)


def font_families(folders: tuple[Path, ...]) -> dict[str, tuple[FontFace, ...]]:
    """Font families in ``folders`` (earlier folders win), from files named Family-Style.ttf.

    Files whose name would make an unsafe family name, links out of the folder and special
    files are left out (``skipped_fonts`` says which and why)."""
    merged: dict[str, tuple[FontFace, ...]] = {}
    for folder in reversed(folders):
        merged.update(_scan_fonts((folder,))[0])
    return merged


def skipped_fonts(folders: tuple[Path, ...]) -> list[Problem]:
    """One problem per font file that ``font_families`` leaves out, naming the file."""
    problems = []
    for folder in folders:
        for path, why in _scan_fonts((folder,))[1]:
            problems.append(
                Problem(
                    f"{folder.name}/{path.name}",
                    f"this font file is not used: {why}",
                    hint="name font files Family-Style.ttf, like AtkinsonHyperlegible-Regular.ttf",
                )
            )
    return problems


def read_font(path: Path) -> bytes:
    """The bytes of a font file (regular file, at most 32 MB); raise FileRefused."""
    return read_file(path, limit=MAX_FONT_BYTES, display=f"{path.parent.name}/{path.name}")


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
    """Why the brand image at ``path`` may not be used, or None when it is fine.

    Raster images are decoded in full, as the renderer will: a truncated file is refused, and
    the pixel limit holds for the size the decoder really produces, whatever the file claims
    first."""
    try:
        data = read_file(path, limit=MAX_IMAGE_BYTES)
    except FileRefused as exc:
        return exc.reason
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
        declared = [struct.unpack(">II", data[16:24])]
        fmt = "PNG"
    elif suffix in (".jpg", ".jpeg"):
        if not data.startswith(b"\xff\xd8"):
            return "is not a JPEG image"
        declared = _jpeg_sizes(data)
        if not declared:
            return "is not a readable JPEG image"
        fmt = "JPEG"
    else:
        return "must be an SVG, PNG or JPEG file"
    for width, height in declared:
        if width * height > MAX_IMAGE_PIXELS:
            return _too_many(width, height)
    found = raster_problem(data, fmt)
    return found.message if found else None


def _too_many(width: int, height: int) -> str:
    return f"has too many pixels ({width} x {height}; the limit is 25 million)"


class RasterProblem(NamedTuple):
    """Why a raster image may not be printed; ``too_large``: over the pixel limit."""

    message: str
    too_large: bool = False


def raster_problem(data: bytes, fmt: str | None = None) -> RasterProblem | None:
    """Decode ``data`` the way the renderer will (Pillow, format ``fmt`` or whatever Pillow
    recognises) and say why it may not be printed, or None. With no ``fmt``, data that Pillow
    does not recognise is not a raster image: None. Results are remembered by content hash."""
    key = hashlib.sha256(data).digest() + (fmt or "").encode()
    if key not in _DECODED:
        if len(_DECODED) >= 256:
            _DECODED.clear()
        _DECODED[key] = _decode_problem(data, fmt)
    return _DECODED[key]


_DECODED: dict[bytes, RasterProblem | None] = {}
# WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES on import (a cut-short image then decodes with
# its missing part black); the check turns it off while it decodes, one thread at a time.
_PILLOW_FLAG = threading.Lock()


def _decode_problem(data: bytes, fmt: str | None) -> RasterProblem | None:
    from PIL import Image, ImageFile, UnidentifiedImageError  # a WeasyPrint dependency

    name = f"a {fmt}" if fmt else "an"
    with _PILLOW_FLAG, warnings.catch_warnings():
        # Pillow only warns below twice its own limit: every such warning is a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            with Image.open(io.BytesIO(data), formats=[fmt] if fmt else None) as image:
                width, height = image.size
                # image.size is what the decoder allocates, whatever header came first.
                if width * height > MAX_IMAGE_PIXELS:
                    return RasterProblem(_too_many(width, height), too_large=True)
                image.load()
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    return RasterProblem(_too_many(image.width, image.height), too_large=True)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            return RasterProblem("has too many pixels (the limit is 25 million)", too_large=True)
        except UnidentifiedImageError:
            if fmt is None:
                return None  # not a raster image: the renderer will not decode it as one
            return RasterProblem(f"cannot be decoded as {name} image: the file is damaged")
        except Exception as exc:  # a decoder fed a damaged file: any error means "damaged"
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return RasterProblem(
                f"cannot be decoded as {name} image: the file is damaged or cut short ({detail})"
            )
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved
    return None


def _jpeg_sizes(data: bytes) -> list[tuple[int, int]]:
    """Every frame size a JPEG declares before its image data (a decoder may use any)."""
    sizes = []
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: no more headers
            break
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            sizes.append((width, height))
        i += 2 + length
    return sizes
