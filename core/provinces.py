"""The province table's names: every province is known by its full name (``江苏省``), and found by its
short name, pinyin or extra aliases too (``data/reference/provinces.yaml``).

Every data file that names a province checks it here on load (:func:`check_province`), so that a
misspelled or shortened name is refused with the file and key instead of silently never matching —
the model, the rules and the views look provinces up by their full name.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from core.datafiles import DataFileError, data_dir, read_yaml


def alias_key(text: str) -> str:
    return str(text).strip().casefold()


def aliases_from_entries(path: Path, entries: Iterable[Mapping]) -> dict[str, str]:
    """Alias (full name, short name, pinyin, extra aliases; :func:`alias_key`) -> full name."""
    aliases: dict[str, str] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise DataFileError(f"{path}: provinces[{i}].name must be text")
        name = entry["name"]
        for alias in (name, entry.get("short"), entry.get("pinyin"), *(entry.get("aliases") or [])):
            if not alias:
                continue
            key = alias_key(alias)
            if aliases.get(key, name) != name:
                raise DataFileError(f"{path}: alias {alias!r} names both {aliases[key]} and {name}")
            aliases[key] = name
    return aliases


def provinces_path(directory: Path | None = None) -> Path:
    return Path(directory or data_dir()) / "reference" / "provinces.yaml"


def load_province_aliases(directory: Path | None = None) -> dict[str, str]:
    """The alias table of ``reference/provinces.yaml`` (cached per version of the file)."""
    path = provinces_path(directory)
    try:
        st = path.stat()
        token = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        token = (str(path), 0, 0)
    return dict(_aliases(*token))


@lru_cache(maxsize=8)
def _aliases(path: str, size: int, mtime_ns: int) -> dict[str, str]:
    doc = read_yaml(Path(path))
    entries = doc.content.get("provinces") if isinstance(doc.content, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DataFileError(f"{path}: missing list 'provinces'")
    return aliases_from_entries(Path(path), entries)


def check_province(path: Path | str, key: str, name: object, aliases: Mapping[str, str] | None = None) -> str:
    """``name`` if it is a province's full name; otherwise a :class:`DataFileError` naming the file and key,
    with the full name to write when ``name`` is one of its aliases."""
    aliases = aliases if aliases is not None else load_province_aliases()
    full_names = set(aliases.values())
    if isinstance(name, str) and name in full_names:
        return name
    full = aliases.get(alias_key(name)) if isinstance(name, str) else None
    hint = f"; write its full name {full!r}" if full else "; the provinces are listed in reference/provinces.yaml"
    raise DataFileError(f"{path}: {key}: unknown province {name!r}{hint}")
