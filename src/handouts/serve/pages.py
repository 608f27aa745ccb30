"""Pages of a built PDF as PNG images for the browser (pypdfium2), cached by the PDF's
SHA-256: a rebuilt document is drawn again, an unchanged one never is."""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

DPI = 110  # about as wide as the page column of a 1280 px screen
CACHE_BYTES = 128 * 1024 * 1024


class PageImages:
    """A bounded cache of page images; pdfium is not thread-safe, so one lock guards it."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self._images: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._limit = limit
        self._lock = threading.Lock()

    def sizes(self, pdf: bytes) -> list[tuple[float, float]]:
        """Each page's width and height in points."""
        import pypdfium2

        with self._lock:
            document = pypdfium2.PdfDocument(pdf)
            try:
                return [document[i].get_size() for i in range(len(document))]
            finally:
                document.close()

    def png(self, pdf: bytes, page: int, dpi: int = DPI) -> tuple[bytes, str] | None:
        """Page ``page`` (1-based) as PNG and the PDF's SHA-256; None when there is no such
        page."""
        sha = hashlib.sha256(pdf).hexdigest()
        key = (sha, page, dpi)
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key], sha
        png = self._draw(pdf, page, dpi)
        if png is None:
            return None
        with self._lock:
            self._images[key] = png
            self._bytes += len(png)
            while self._bytes > self._limit and self._images:
                _, dropped = self._images.popitem(last=False)
                self._bytes -= len(dropped)
        return png, sha

    def _draw(self, pdf: bytes, page: int, dpi: int) -> bytes | None:
        import pypdfium2

        with self._lock:
            document = pypdfium2.PdfDocument(pdf)
            try:
                if not 1 <= page <= len(document):
                    return None
                handle = document[page - 1]
                try:
                    bitmap = handle.render(scale=dpi / 72)
                    try:
                        image = bitmap.to_pil().copy()
                    finally:
                        bitmap.close()
                finally:
                    handle.close()
            finally:
                document.close()
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)  # 3x faster than the default, as small
        return buffer.getvalue()
