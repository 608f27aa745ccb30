"""The only way WeasyPrint may read anything: ``data:`` URLs and files inside allowed folders.

Everything else (other files, http, https, ftp, ...) stops the document with a
``FatalURLFetchingError``, so a handout can neither leak a local file nor call the network.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from .assets import raster_problem
from .files import FileRefused, inside, read_file

# Fonts are the largest files a handout uses; nothing it needs comes near this.
MAX_FETCH_BYTES = 32 * 1024 * 1024


class BlockedResource(FatalURLFetchingError):
    """A template, stylesheet or image asked for something outside the allowed folders."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"blocked '{_short(url)}': {reason}")


def _short(url: str) -> str:
    """A URL as shown in messages: data: URLs cut short, others whole unless absurdly long
    (then both ends, since the end names the file)."""
    if url[:5].lower() == "data:":
        return url if len(url) <= 60 else url[:57] + "..."
    if len(url) <= 400:
        return url
    return url[:200] + "..." + url[-197:]


class ConfinedFetcher(URLFetcher):
    """Serve ``data:`` URLs and local files whose real path lies inside ``roots``."""

    def __init__(self, roots: list[Path] | tuple[Path, ...]) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols=("data", "file"),
            allow_redirects=False,
            fail_on_errors=True,
        )
        self.roots = tuple(roots)
        self.fetched: list[str] = []
        # WeasyPrint swallows some failures (an SVG's own <image>): remember every refusal so
        # the renderer can fail the document anyway.
        self.blocked: list[BlockedResource] = []

    def allowed_path(self, url: str) -> Path:
        """The real path of a ``file:`` URL inside the roots; raise BlockedResource otherwise."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise BlockedResource(url, "files on other machines are not allowed")
        # Decode first, then resolve: `..%2f` and symlinks must not escape.
        real = inside(unquote(parts.path), self.roots)
        if real is None:
            raise BlockedResource(url, "it is outside the brand, template and font folders")
        return real

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        try:
            return self._fetch(url, headers)
        except BlockedResource as exc:
            self.blocked.append(exc)
            raise

    def _fetch(self, url: str, headers: dict | None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            try:
                response = super().fetch(url, headers)
                kind = response.headers.get_content_type()
                if kind == "image/svg+xml":  # QR codes; SVG is never decoded by Pillow
                    return response
                data = response.read()
            except Exception as exc:
                raise BlockedResource(url, f"the data: URL cannot be read ({exc})") from None
            self._check_raster(url, data, kind)
            return URLFetcherResponse(response.url, data, response.headers)
        if scheme != "file":
            raise BlockedResource(url, "handouts never load anything from the network")
        try:
            path = self.allowed_path(url)
        except ValueError:  # e.g. a NUL byte in the path
            raise BlockedResource(url, "the file name is not valid") from None
        try:
            data = read_file(path, limit=MAX_FETCH_BYTES, display=path.name, roots=self.roots)
        except FileRefused as exc:
            reason = "the file does not exist" if exc.reason == "does not exist" else exc.reason
            raise BlockedResource(url, reason) from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind != "image/svg+xml":
            self._check_raster(url, data, kind)
        self.fetched.append(str(path))
        return URLFetcherResponse(path.as_uri(), data, {"Content-Type": kind})

    def _check_raster(self, url: str, data: bytes, kind: str) -> None:
        """The same decoded-size and damage checks as a brand logo, for whatever Pillow would
        decode: WeasyPrint hands every non-SVG image to Pillow, whatever its name or type."""
        found = raster_problem(data)
        if found and (found.too_large or kind.startswith("image/")):
            raise BlockedResource(url, f"the image {found.message}")
