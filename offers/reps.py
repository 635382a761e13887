"""The sales reps' direct contacts (``data/reps.yaml``), validated on load, hashed for the run record.

The offer's next step names the account's rep (the customer list's ``sales_rep``) with a direct phone
and e-mail; an account without a rep, or whose rep the file does not list, gets the division's line.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from offers.paths import PROJECT_ROOT

_PHONE = re.compile(r"^\+?[0-9][0-9 \-()]{2,19}( ?(转|ext\.?) ?[0-9]{1,6})?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


class RepsError(ValueError):
    """``data/reps.yaml`` is missing or invalid; the message names the file and the key."""


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: str = Field(min_length=3, max_length=30)
    email: str = Field(min_length=3, max_length=80)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        v = str(v).strip()
        if not _PHONE.match(v):
            raise ValueError(f"not a phone number (digits, spaces, dashes, optional 转 extension): {v!r}")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        v = str(v).strip()
        if not _EMAIL.match(v):
            raise ValueError(f"not an e-mail address: {v!r}")
        return v


class Division(Contact):
    name: str = Field(min_length=1, max_length=30)


class RepsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    division: Division
    reps: dict[str, Contact] = {}

    @field_validator("reps", mode="before")
    @classmethod
    def _names(cls, v):
        if isinstance(v, dict):
            for name in v:
                if not isinstance(name, str) or not name.strip() or len(name) > 30 or any(c in name for c in "\r\n"):
                    raise ValueError(f"rep name {name!r} must be one line of at most 30 characters")
        return v


@dataclass(frozen=True)
class Reps:
    division: Division
    reps: dict[str, Contact] = field(default_factory=dict)
    sha256: str = ""
    path: str = ""

    def contact_for(self, sales_rep: str | None) -> dict:
        """What the offer prints as the direct contact: the rep, or the division's line (``is_rep`` False)."""
        name = (sales_rep or "").strip()
        rep = self.reps.get(name)
        if rep is not None:
            return {"is_rep": True, "name": name, "phone": rep.phone, "email": rep.email}
        return {"is_rep": False, "name": self.division.name, "phone": self.division.phone,
                "email": self.division.email}

    def record(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "reps": len(self.reps)}


def default_reps_path() -> Path:
    data = Path(os.environ.get("GREENPOWER_DATA", PROJECT_ROOT / "data"))
    return data / "reps.yaml"


def load_reps(path: Path | None = None) -> Reps:
    path = Path(path) if path is not None else default_reps_path()
    try:
        raw = path.read_bytes()
        content = yaml.safe_load(raw.decode("utf-8"))
    except OSError as exc:
        raise RepsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RepsError(f"{path}: not valid UTF-8 YAML ({exc})") from None
    if not isinstance(content, dict):
        raise RepsError(f"{path}: expected the keys 'division' and 'reps'")
    try:
        parsed = RepsFile(**content)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problem = "required key is missing" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        raise RepsError(f"{path}: {where}: {problem}") from None
    return Reps(parsed.division, {k.strip(): v for k, v in parsed.reps.items()}, hashlib.sha256(raw).hexdigest(),
                path.name)


def offer_files_record() -> dict:
    """What ``runs.assumptions`` records about the data files that shape the offers (reps, branding)."""
    from offers.branding import default_branding_path, load_branding
    branding = load_branding()
    path = default_branding_path()
    return {"reps": load_reps().record(),
            "branding": {"path": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                         "valid_days": branding.valid_days, "response_url_template": branding.response_url_template}}
