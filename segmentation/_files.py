"""Reading segmentation data files, and turning every problem into one clear message.

Every message names the file and the key path inside it (``rules[2].when.any[0].op``),
because the person fixing it is a sales analyst with the YAML file open, not a developer
with a traceback (segmentation.md: "the file is validated on load").
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from core.datafiles import DataFileError, YamlDoc, read_yaml


def key_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """``("rules", 2, "when")`` -> ``rules[2].when``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def fail(path: Path, where: str | tuple[Any, ...] | list[Any], problem: str) -> NoReturn:
    if not isinstance(where, str):
        where = key_path(where)
    raise DataFileError(f"{path}: {where}: {problem}")


def raise_validation(path: Path, exc: ValidationError, prefix: tuple[Any, ...] = ()) -> NoReturn:
    """Re-raise pydantic's first error as a :class:`DataFileError` naming file and key path."""
    err = exc.errors(include_url=False)[0]
    loc = prefix + tuple(err["loc"])
    if err["type"] == "missing":
        problem = "required key is missing"
    elif err["type"] == "extra_forbidden":
        problem = "unknown key (check the spelling; allowed keys are listed in segmentation/README.md)"
    else:
        problem = err["msg"].removeprefix("Value error, ")
        if "input" in err and err["type"] not in ("value_error",):
            problem += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    if more:
        problem += f" [and {more} more problem{'s' if more > 1 else ''}]"
    fail(path, loc, problem)


def load_mapping(path: Path) -> tuple[YamlDoc, dict[str, Any]]:
    """Read a YAML data file whose top level must be a mapping."""
    doc = read_yaml(path)
    if not isinstance(doc.content, dict):
        fail(path, (), "the file must be a YAML mapping (key: value lines) at the top level")
    return doc, doc.content


def date_text(v: Any) -> Any:
    """YAML reads an unquoted 2025-07-11 as a date and 2025 as a number; keep dates as text."""
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


class Metadata(BaseModel):
    """``source`` and ``date`` every data file carries (cost-model.md: each value with its source and date)."""

    model_config = ConfigDict(extra="ignore")

    source: str
    date: str

    @field_validator("source")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        return date_text(v)


def check_metadata(path: Path, content: dict[str, Any]) -> Metadata:
    try:
        return Metadata.model_validate(content)
    except ValidationError as exc:
        raise_validation(path, exc)
