"""Files a user writes (YAML), read into strict pydantic models with errors that name the key.

Every settings file of nominal — ``nominal.yaml``, a feed's mapping, matching's settings, publish's
rules — is read by ``load_model``. A mistake is reported with the file and the key that holds it,
and a did-you-mean for a misspelt key: ``feeds[0].conector: unknown key — did you mean 'connector'?``.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from nominal.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


class Strict(BaseModel):
    """A settings model that refuses keys it does not know (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def read_yaml(path: Path, what: str = "file") -> Any:
    """The parsed YAML of ``path``; ConfigError naming the file (and the line) if it is missing or malformed."""
    if not path.is_file():
        raise ConfigError(f"{what} {path} not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None


def validate(model: type[Model], raw: Any, source: Path | str, extra: dict[str, Any] | None = None) -> Model:
    """``raw`` as a ``model``; ConfigError listing every problem by key if it does not fit."""
    if extra:
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a mapping of settings at the top level")
        raw = {**raw, **extra}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(source, problems(exc, model))) from None


def load_model(path: Path, model: type[Model], what: str = "file") -> Model:
    """Read and validate a YAML settings file (cached while the file is unchanged)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} not found")
    return _load_cached(path.resolve(), path.stat().st_mtime, model, what)  # type: ignore[return-value]


@lru_cache(maxsize=128)
def _load_cached(path: Path, mtime: float, model: type[BaseModel], what: str) -> BaseModel:
    return validate(model, read_yaml(path, what), path)


def describe(source: Path | str, found: list[str]) -> str:
    """One problem on the file's line, several one per line below it."""
    if len(found) == 1:
        return f"{source}: {found[0]}"
    return f"{source}:\n  " + "\n  ".join(found)


def problems(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[str]:
    """Each validation error as ``key.path: what is wrong``."""
    lines = []
    for error in exc.errors():
        loc = _format_loc(error["loc"], prefix)
        if error["type"] == "extra_forbidden":
            key = str(error["loc"][-1])
            known = _known_keys(model, error["loc"][:-1])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" — did you mean {close[0]!r}?" if close else (f" (known: {', '.join(known)})" if known else "")
            lines.append(f"{loc}: unknown key{hint}")
        elif error["type"] == "missing":
            lines.append(f"{loc}: required key is missing")
        else:
            lines.append(f"{loc}: {error['msg']}")
    return lines


def _format_loc(loc: tuple[int | str, ...], prefix: str) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where an unknown one was found, for a did-you-mean hint."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    names = []
    for name, f in current.model_fields.items():
        if not f.exclude:
            names.append(f.alias or name)
    return names
