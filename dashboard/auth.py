"""Dashboard users and roles: who may sign in, and what each role sees (reliability.md "who sees what").

The users file (YAML; ``gp dashboard --users FILE`` or the setting ``GREENPOWER_DASHBOARD_USERS``)::

    users:
      zhang.wei: {role: manager, password: "$argon2id$v=19$m=65536,t=3,p=4$…"}
      wang.lei:  {role: rep, sales_rep: 王磊, password: "$argon2id$…"}
      li.na:     {role: analyst, password: "$argon2id$…"}

Passwords are stored only as Argon2id hashes (argon2-cffi, the reference implementation's binding;
``gp dashboard-user add NAME --role …`` writes them). Roles:

- ``manager``: every account, every offer PDF;
- ``rep``: only the accounts whose ``accounts.sales_rep`` is their ``sales_rep`` — on every page, in every
  filter's choices, every table download and every offer PDF (``dashboard.data.Scope``, applied in
  ``sql/base.sql``, which every account-level query and the PDF lookup go through);
- ``analyst``: every account's figures, but residents' names masked (``***``) everywhere, and no offer
  PDFs (a PDF carries the name).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import UserError
from core.filemodes import make_dirs, open_private

from .data import Scope

USERS_ENV = "GREENPOWER_DASHBOARD_USERS"
ROLES = ("manager", "rep", "analyst")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()
# verified when the user name is unknown, so that a wrong name takes as long as a wrong password
_DUMMY = _HASHER.hash("not a password of anyone")


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["manager", "rep", "analyst"]
    password: str = Field(min_length=20, description="an Argon2 hash, never the password itself")
    sales_rep: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _rep_has_a_name(self) -> "User":
        if self.role == "rep" and not self.sales_rep:
            raise ValueError("a rep needs sales_rep: their name as in the customer list's sales_rep column")
        if not self.password.startswith("$argon2"):
            raise ValueError("password must be an Argon2 hash (write it with `gp dashboard-user add`)")
        return self


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: dict[str, User] = Field(default_factory=dict)


def users_path(given: str | os.PathLike | None = None) -> Path | None:
    """The users file: ``given``, else the setting, else None (no sign-in: local use only)."""
    value = given or os.environ.get(USERS_ENV)
    return Path(value).expanduser().resolve() if value else None


def load_users(path: str | os.PathLike) -> dict[str, User]:
    """The users file, validated; a problem names the file and the key."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"{path}: no users file here (add a user with `gp dashboard-user add`)") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise UserError(f"{path}: cannot read the users file: {e}") from None
    try:
        users = UsersFile.model_validate(doc).users
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UserError(f"{path}: {key}: {first['msg']}") from None
    for name in users:
        if not NAME.match(name):
            raise UserError(f"{path}: users.{name}: a user name is 1-64 letters, digits, '.', '_', '@' or '-'")
    return users


def verify(users: dict[str, User], name: str, password: str) -> User | None:
    """The user, when ``password`` is theirs; None otherwise (an unknown name costs the same time)."""
    user = users.get(name)
    try:
        _HASHER.verify(user.password if user else _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def add_user(path: str | os.PathLike, name: str, role: str, password: str, sales_rep: str | None = None) -> None:
    """Add (or replace) a user in the users file with the Argon2 hash of ``password``; the file is 0640."""
    path = Path(path)
    if not NAME.match(name):
        raise UserError(f"{name!r}: a user name is 1-64 letters, digits, '.', '_', '@' or '-'")
    if len(password) < 8:
        raise UserError("the password must have at least 8 characters")
    users = load_users(path) if path.exists() else {}
    try:
        user = User(role=role, password=_HASHER.hash(password), sales_rep=sales_rep or None)
    except ValidationError as exc:
        raise UserError(f"{name}: {exc.errors()[0]['msg']}") from None
    users = {**users, name: user}
    text = yaml.safe_dump({"users": {n: u.model_dump(exclude_none=True) for n, u in sorted(users.items())}},
                          allow_unicode=True, sort_keys=False)
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(open_private(tmp), "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def scope_for(user: User | None) -> Scope:
    """What ``user`` may see (None: no sign-in configured — the local, single-user dashboard sees all)."""
    if user is None or user.role == "manager":
        return Scope()
    if user.role == "rep":
        return Scope(sales_reps=(user.sales_rep,))
    return Scope(mask_resident_names=True, offers=False)
