"""The QR code on page 1: the response URL (offer number + check code) as an SVG path, made locally.

segno encodes the URL; this module turns the module matrix into one stroked SVG path, so the template
draws ``<path d="…" stroke-width="1">`` inline — no image file, no data URL, nothing fetched. The URL
comes from the configured template and the offer number only (offers.md, Safety), never from customer text.

The path is a set of one-module-wide strokes with butt caps: ``M x y.5h n`` paints n modules of row y from
column x, ``M x.5 y v n`` n modules of column x from row y. Each dark module not yet painted starts the
longer of its run to the right and its run downwards. That is two path commands per stroke and about a
fifth fewer strokes than one rectangle (five commands) per run of a row: WeasyPrint parses SVG path data in
Python, command by command, and the QR code was the most expensive element of the decision page to draw.
"""
from __future__ import annotations

import segno

QUIET_ZONE = 2      # modules of white border (the standard asks 4; the page around it is white)


def _run(matrix: list[bytes], x: int, y: int, dx: int, dy: int) -> int:
    """How many dark modules from (x, y) onwards along (dx, dy)."""
    n, size = 0, len(matrix)
    while x + n * dx < size and y + n * dy < size and matrix[y + n * dy][x + n * dx]:
        n += 1
    return n


def qr_svg(url: str) -> dict:
    """``{"size": modules incl. border, "path": SVG path data of one-module-wide strokes}`` of the QR code
    for ``url`` (drawn with ``stroke-width="1"`` and no fill)."""
    code = segno.make(url, error="m", micro=False)
    rows = [bytes(r) for r in code.matrix]
    painted = [bytearray(len(r)) for r in rows]
    parts = []
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if not dark or painted[y][x]:
                continue
            across, down = _run(rows, x, y, 1, 0), _run(rows, x, y, 0, 1)
            if across >= down:
                painted[y][x:x + across] = b"\1" * across
                parts.append(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}.5h{across}")
            else:
                for i in range(down):
                    painted[y + i][x] = 1
                parts.append(f"M{x + QUIET_ZONE}.5 {y + QUIET_ZONE}v{down}")
    return {"size": len(rows) + 2 * QUIET_ZONE, "path": "".join(parts)}
