"""Where the project's data files live, and how they are read with their content hash.

Business knowledge (provinces, tariffs, assumption sets, rules, playbooks) lives in
``data/`` as YAML/CSV. Every loader reads through :func:`read_yaml` so that the run
can record the SHA-256 of exactly the bytes it used.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import UserError

_PROJECT_ROOT = Path(__file__).resolve().parents[1]   # the checkout (core/ sits at its top)


def data_dir() -> Path:
    """The ``data/`` folder; ``GREENPOWER_DATA`` overrides it (tests, deployments)."""
    return Path(os.environ.get("GREENPOWER_DATA", _PROJECT_ROOT / "data"))


class DataFileError(UserError, ValueError):
    """A data file is missing, unreadable or invalid. The message names the file and key."""


@dataclass(frozen=True)
class YamlDoc:
    path: Path
    content: Any
    sha256: str


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def read_yaml(path: Path) -> YamlDoc:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        content = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataFileError(f"{path}: not valid UTF-8 YAML ({exc})") from None
    return YamlDoc(path=path, content=content, sha256=sha256_bytes(raw))
