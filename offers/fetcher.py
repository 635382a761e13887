"""The only way the PDF renderer may read anything: files under ``report_templates/assets/``.

WeasyPrint sends every stylesheet, image, SVG reference and attachment through its URL fetcher.
Customer fields are autoescaped, so they should never reach it; this fetcher is the second wall:

- ``file:`` URLs are served only when the resolved path (symlinks followed) is a regular file
  inside the assets folder — ``../`` tricks, absolute paths elsewhere and symlinks out all fail;
- every other scheme is refused: ``http(s)``/``ftp`` (no network from a render), and ``data:``
  too — the templates never need it, and refusing it keeps the rule "only our own files" simple.

A refused URL raises :class:`AssetAccessDenied`; WeasyPrint logs it and renders without that
resource, so a hostile value degrades to a missing image, never to a leaked file.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint import URLFetcher
from weasyprint.urls import URLFetcherResponse

_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".css": "text/css", ".jpg": "image/jpeg"}


class AssetAccessDenied(ValueError):
    pass


class AssetsOnlyFetcher(URLFetcher):
    def __init__(self, root: Path):
        super().__init__(allowed_protocols=("file",), allow_redirects=False, timeout=5)
        self.root = Path(root).resolve()

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise AssetAccessDenied(f"only the offer's own assets may be loaded, not {url[:80]!r}")
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise AssetAccessDenied(f"not a file inside the template assets: {url[:80]!r}")
        mime = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": mime})
