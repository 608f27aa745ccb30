"""URL → vector QR code (SVG) sized so that every module prints at least 0.5 mm wide.

Always a full QR code (the qrcode library never makes Micro QR), error correction M, and a
quiet zone of 4 modules included in the printed square.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
import qrcode.exceptions

QUIET_ZONE = 4
MIN_MODULE_MM = 0.5  # the preflight's floor too: smaller modules fail first on a photocopy


class QRTooDense(ValueError):
    """The URL needs more modules than fit the space at the minimum module size."""


@dataclass(frozen=True, slots=True)
class QRCode:
    url: str
    data_uri: str  # data:image/svg+xml;base64,...
    size_mm: float  # printed width and height, quiet zone included
    modules: int  # modules across, quiet zone included
    version: int

    @property
    def module_mm(self) -> float:
        return self.size_mm / self.modules

    @property
    def symbol_mm(self) -> float:
        """The printed symbol, without its quiet zone: what a reader sees as the code."""
        return self.size_mm * (self.modules - 2 * QUIET_ZONE) / self.modules


@lru_cache(maxsize=512)
def make_qr(
    url: str, *, min_mm: float = 22.0, module_mm: float = 0.5, max_mm: float = 34.0
) -> QRCode:
    """A QR code for ``url``: at least ``min_mm`` wide, ``module_mm`` per module if that is
    wider, and never wider than ``max_mm`` (raise QRTooDense when modules of MIN_MODULE_MM
    would not fit).
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(url.encode("utf-8"))
    try:
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        raise QRTooDense(
            f"the address is too long for a QR code ({len(url)} characters); use a shorter address"
        ) from None
    modules = code.modules_count + 2 * QUIET_ZONE
    size = max(min_mm, modules * module_mm)
    if size > max_mm:
        size = max_mm
    if size / modules < MIN_MODULE_MM:
        need = modules * MIN_MODULE_MM
        raise QRTooDense(
            f"the address is too long for a QR code in this space ({len(url)} characters need "
            f"{need:.0f} mm, the layout allows {max_mm:.0f} mm); use a shorter address"
        )
    svg = to_svg(code.get_matrix())
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return QRCode(url, f"data:image/svg+xml;base64,{data}", round(size, 2), modules, code.version)


def _runs(row: list[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    runs, x = [], 0
    while x < len(row):
        if row[x]:
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append((start, x - start))
        else:
            x += 1
    return runs


def to_svg(matrix: list[list[bool]]) -> str:
    """The modules as one SVG path of rectangles on a white square (the quiet zone must be
    white whatever the page behind it). Runs of dark modules are merged across a row and down
    the rows they repeat in: WeasyPrint draws SVG paths command by command, and this takes a
    quarter of the commands of one square per module, a third of the drawing time."""
    n = len(matrix)
    open_runs: dict[tuple[int, int], int] = {}  # (start, length) → first row
    rects: list[tuple[int, int, int, int]] = []
    for y in range(n + 1):
        runs = set(_runs(matrix[y])) if y < n else set()
        for run, first in list(open_runs.items()):
            if run not in runs:
                rects.append((run[0], first, run[1], y - first))
                del open_runs[run]
        for run in runs:
            open_runs.setdefault(run, y)
    path = "".join(
        f"M{x} {y}h{w}v{h}h-{w}z" for x, y, w, h in sorted(rects, key=lambda r: r[1::-1])
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n}mm" height="{n}mm" '
        f'viewBox="0 0 {n} {n}"><rect width="{n}" height="{n}" fill="#FFFFFF"/>'
        f'<path d="{path}" fill="#000000"/></svg>'
    )
