"""The QR code on page 1: the response URL (offer number + check code) as an SVG path, made locally.

segno encodes the URL; this module turns the module matrix into one SVG path (a rectangle per run of
dark modules in a row), so the template draws ``<path d="…">`` inline — no image file, no data URL,
nothing fetched. The URL comes from the configured template and the offer number only (offers.md,
Safety), never from customer text.
"""
from __future__ import annotations

import segno

QUIET_ZONE = 2      # modules of white border (the standard asks 4; the page around it is white)


def qr_svg(url: str) -> dict:
    """``{"size": modules incl. border, "path": SVG path data}`` of the QR code for ``url``."""
    code = segno.make(url, error="m", micro=False)
    rows = [bytes(r) for r in code.matrix]
    parts = []
    for y, row in enumerate(rows):
        x = 0
        n = len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                parts.append(f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return {"size": len(rows) + 2 * QUIET_ZONE, "path": "".join(parts)}
