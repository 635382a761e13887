"""The utility's letterhead for the offers (``data/branding.yaml``), validated on load.

Colours end up inside the compiled stylesheet, so they are held to ``#RRGGBB``; the logo must
be a file inside ``report_templates/assets/`` because the PDF renderer may fetch nothing else.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import UserError
from offers.paths import ASSETS_DIR, PROJECT_ROOT

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_LOGO_SUFFIXES = (".svg", ".png")


class BrandingError(UserError, ValueError):
    """``data/branding.yaml`` is missing or invalid; the message names the file and key."""


class Branding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    utility_name: str = Field(min_length=1, max_length=60)
    sales_division: str = Field(min_length=1, max_length=60)
    document_title: str = Field(default="绿色电力服务方案", min_length=1, max_length=30)
    contact_lines: tuple[str, ...] = Field(default=(), max_length=4)
    primary_color: str = "#0B6E4F"
    accent_color: str = "#E0A100"
    logo: str | None = None

    @field_validator("utility_name", "sales_division", "document_title")
    @classmethod
    def _one_line(cls, v: str) -> str:
        v = v.strip()
        if not v or any(ch in v for ch in "\r\n"):
            raise ValueError("must be one non-empty line")
        return v

    @field_validator("contact_lines")
    @classmethod
    def _short_lines(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for line in v:
            if len(line) > 80 or any(ch in line for ch in "\r\n"):
                raise ValueError("each contact line must be one line of at most 80 characters")
        return tuple(line.strip() for line in v)

    @field_validator("primary_color", "accent_color")
    @classmethod
    def _color(cls, v: str) -> str:
        if not _COLOR.match(v):
            raise ValueError(f"must be a colour like #0B6E4F, got {v!r}")
        return v.upper()

    @field_validator("logo")
    @classmethod
    def _logo(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        path = (ASSETS_DIR / v).resolve()
        if not path.is_relative_to(ASSETS_DIR.resolve()) or path.suffix.lower() not in _LOGO_SUFFIXES:
            raise ValueError(f"must name an .svg or .png file inside report_templates/assets/, got {v!r}")
        if not path.is_file():
            raise ValueError(f"file report_templates/assets/{v} does not exist")
        return path.relative_to(ASSETS_DIR.resolve()).as_posix()

    def fingerprint(self) -> str:
        """SHA-256 of the values: part of every offer's content hash."""
        raw = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def default_branding_path() -> Path:
    data = Path(os.environ.get("GREENPOWER_DATA", PROJECT_ROOT / "data"))
    return data / "branding.yaml"


def load_branding(path: Path | None = None) -> Branding:
    return load_branding_file(path)[0]


def load_branding_file(path: Path | None = None) -> tuple[Branding, str]:
    """The branding and the SHA-256 of the bytes it was read from (recorded on the run)."""
    path = Path(path) if path is not None else default_branding_path()
    try:
        raw = path.read_bytes()
        content = yaml.safe_load(raw.decode("utf-8"))
    except OSError as exc:
        raise BrandingError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BrandingError(f"{path}: not valid UTF-8 YAML ({exc})") from None
    if not isinstance(content, dict):
        raise BrandingError(f"{path}: expected a mapping of keys (utility_name, sales_division, …)")
    try:
        return Branding(**content), hashlib.sha256(raw).hexdigest()
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problem = "required key is missing" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        raise BrandingError(f"{path}: {where}: {problem}") from None
