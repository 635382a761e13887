"""Compact embedding of CID-keyed CFF fonts (Noto Sans CJK): ≈ 70 KB per offer instead of ≈ 350 KB.

Why: WeasyPrint subsets fonts with HarfBuzz but *retains glyph ids*, so a Noto Sans CJK subset
still carries an (empty) entry for each of its ~65,000 glyphs in the CFF, ``hmtx`` and ``vmtx``
tables — about 150 KB per face, compressed, whatever the text. PDF readers need none of that:
for a ``CIDFontType0`` font the content streams select glyphs by CID, and a CID-keyed CFF maps
CIDs to its glyphs through its own ``charset``.

What: a WeasyPrint *finisher* (public API, runs after the PDF objects are built) takes each
embedded OpenType CFF font, re-subsets it with HarfBuzz to exactly the glyphs the document uses
*without* retaining ids (HarfBuzz keeps each glyph's original CID in the charset of a CID-keyed
font), and embeds the bare CFF table as ``FontFile3 /CIDFontType0C`` — the form the PDF
specification defines for CFF CID fonts. Content streams, widths and ToUnicode maps are untouched.

Safety: a font is only replaced when the new CFF is CID-keyed and its charset still holds every
used CID under its own number (checked with fontTools); otherwise, or when libharfbuzz-subset cannot be loaded, the
font stays as WeasyPrint embedded it (correct, but ≈ 5× larger): that is logged as a WARNING and, through
the ``problems`` list the renderer passes in, recorded on the offer (``offers.warning``).

Memory: HarfBuzz reads the font in place (read-only blob, no copy). The pointer it gets comes from
``ffi.from_buffer``, whose cdata object keeps the Python buffer alive and unmoved for as long as that
object lives — it is held until the blob and every face made from it are destroyed. (A ``bytes``
passed directly as a ``char *`` argument is only guaranteed for the duration of that one call.)
"""
from __future__ import annotations

import io
import logging
from functools import lru_cache

import cffi
import pydyf
from fontTools.cffLib import CFFFontSet

LOG = logging.getLogger(__name__)

_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
hb_blob_t *hb_blob_create(const char *data, unsigned int length, int mode, void *user_data, void *destroy);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_table(const hb_face_t *face, uint32_t tag);
void hb_set_add(hb_set_t *set, uint32_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set(hb_subset_input_t *input);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned value);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""
_HB_MEMORY_MODE_READONLY = 1
_HB_SUBSET_FLAGS_NO_HINTING = 0x1
_HB_SUBSET_FLAGS_DESUBROUTINIZE = 0x4
_CFF_TAG = int.from_bytes(b"CFF ", "big")


@lru_cache(maxsize=1)
def _harfbuzz():
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    for base, subset in (("libharfbuzz.so.0", "libharfbuzz-subset.so.0"),
                         ("libharfbuzz.0.dylib", "libharfbuzz-subset.0.dylib")):
        try:
            return ffi, ffi.dlopen(base), ffi.dlopen(subset)
        except OSError:
            continue
    LOG.warning("libharfbuzz-subset not found: offer PDFs embed larger font subsets")
    return None


class CompactionUnavailable(RuntimeError):
    """libharfbuzz-subset cannot be loaded on this machine."""


def compact_cff(otf, glyph_ids: list[int]) -> bytes | None:
    """The bare CFF table of ``otf`` (any bytes-like buffer) reduced to ``glyph_ids`` (CIDs kept), or None
    when HarfBuzz cannot subset it. Raises :class:`CompactionUnavailable` without libharfbuzz-subset."""
    hb = _harfbuzz()
    if hb is None:
        raise CompactionUnavailable("libharfbuzz-subset is not installed")
    ffi, lib, sub = hb
    data = ffi.from_buffer(otf)      # keeps ``otf`` alive and in place until ``data`` goes (after the finally)
    blob = lib.hb_blob_create(data, len(data), _HB_MEMORY_MODE_READONLY, ffi.NULL, ffi.NULL)
    face = lib.hb_face_create(blob, 0)
    spec = sub.hb_subset_input_create_or_fail()
    try:
        if spec == ffi.NULL:
            return None
        glyphs = sub.hb_subset_input_glyph_set(spec)
        for gid in glyph_ids:
            lib.hb_set_add(glyphs, gid)
        sub.hb_subset_input_set_flags(spec, _HB_SUBSET_FLAGS_NO_HINTING | _HB_SUBSET_FLAGS_DESUBROUTINIZE)
        result = sub.hb_subset_or_fail(face, spec)
        if result == ffi.NULL:
            return None
        table = lib.hb_face_reference_table(result, _CFF_TAG)
        try:
            length = ffi.new("unsigned int *")
            data = lib.hb_blob_get_data(table, length)
            return bytes(ffi.buffer(data, length[0])) if length[0] else None
        finally:
            lib.hb_blob_destroy(table)
            lib.hb_face_destroy(result)
    finally:
        if spec != ffi.NULL:
            sub.hb_subset_input_destroy(spec)
        lib.hb_face_destroy(face)
        lib.hb_blob_destroy(blob)
        del data


def _charset_cids(cff: bytes) -> list[int] | None:
    """The CIDs of a CID-keyed CFF in glyph order, or None when it is not CID-keyed."""
    fonts = CFFFontSet()
    fonts.decompile(io.BytesIO(cff), None)
    top = fonts.topDictIndex[0]
    if not hasattr(top, "ROS"):
        return None
    return [0 if name == ".notdef" else int(name[3:]) for name in top.charset]


def _deref(pdf: pydyf.PDF, reference):
    text = reference.decode() if isinstance(reference, bytes) else str(reference)
    return pdf.objects[int(text.split()[0])]


def compact_fonts(document, pdf: pydyf.PDF, problems: list[str] | None = None) -> None:
    """WeasyPrint finisher: replace retained-id OpenType CFF subsets by compact bare CFF fonts.

    A font that cannot be compacted stays as WeasyPrint embedded it; each such font is logged as a
    WARNING and described in ``problems`` (when given), so that the offer records it."""
    users: dict[int, tuple[pydyf.Stream, set[int]]] = {}
    for obj in list(pdf.objects):
        if not (isinstance(obj, pydyf.Dictionary) and obj.get("Subtype") == "/CIDFontType0"):
            continue
        descriptor = _deref(pdf, obj["FontDescriptor"])
        if "FontFile3" not in descriptor:
            continue
        stream = _deref(pdf, descriptor["FontFile3"])
        if not isinstance(stream, pydyf.Stream) or stream.extra.get("Subtype") != "/OpenType":
            continue
        used = users.setdefault(id(stream), (stream, {0}))[1]
        widths = obj.get("W", [])
        for i in range(0, len(widths) - 1, 2):
            used.update(range(int(widths[i]), int(widths[i]) + len(widths[i + 1])))

    for stream, used in users.values():
        problem = None
        try:
            wanted = sorted(used)
            cff = compact_cff(b"".join(stream.stream), wanted)
            cids = _charset_cids(cff) if cff is not None else None
            # HarfBuzz may keep a few extra glyphs (closure); what matters is that every used
            # CID is still addressed by its own number
            if cff is None:
                problem = "HarfBuzz could not subset the font"
            elif cids is None:
                problem = "the subset font is not CID-keyed"
            elif not set(wanted).issubset(cids):
                problem = "the subset font lost glyphs the document uses"
        except Exception as exc:  # never fail a document over an optimisation
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            message = f"font not compacted ({problem}); the PDF embeds the larger subset"
            LOG.warning(message)
            if problems is not None and message not in problems:
                problems.append(message)
            continue
        stream.stream = [cff]
        stream.extra["Subtype"] = "/CIDFontType0C"
