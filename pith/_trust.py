"""Which project settings the user trusts: the codebase under study never routes the user's key.

A checkout's ``pyproject.toml`` ``[tool.pith]`` and ``.env`` are the codebase's files, not the
user's: a cloned repository must not choose where the API key goes (``base-url``), which model is
paid for (``model``), how many calls run at once (``concurrency``), or which key is used. Those
*routing* settings are taken from a project's files only after ``pith trust`` recorded them for
that directory; the record holds the directory and a fingerprint of the routing values (never a
key: only whether ``.env`` holds one), so a later change to any of them is untrusted again.

The record lives in the user's config dir (``$PITH_CONFIG_DIR``, else the platform's: e.g.
``~/.config/pith`` on Linux), next to the user's own ``config.toml``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._errors import ConfigError

__all__ = [
    "ProjectSettings",
    "is_trusted",
    "revoke",
    "trust",
    "user_config_dir",
]

# [tool.pith] keys, and .env names, that route traffic or spend money.
ROUTING_TABLE_KEYS = ("base-url", "model", "concurrency")
ROUTING_ENV_NAMES = (
    "PITH_BASE_URL",
    "PITH_MODEL",
    "OPENROUTER_MODEL",
    "PITH_CONCURRENCY",
    "PITH_API_KEY",
    "OPENROUTER_API_KEY",
)
KEY_ENV_NAMES = ("PITH_API_KEY", "OPENROUTER_API_KEY")
_RECORD = "trusted-projects.json"


def user_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's pith config dir: ``$PITH_CONFIG_DIR`` when set, else the platform's
    (``$XDG_CONFIG_HOME/pith`` or ``~/.config/pith`` on Linux, Application Support on macOS,
    ``%APPDATA%`` on Windows). Read only from the real environment, never from a ``.env``."""
    env = os.environ if environ is None else environ
    if env.get("PITH_CONFIG_DIR"):
        return Path(env["PITH_CONFIG_DIR"])
    import click  # the CLI has it loaded already; a library caller pays for it once

    return Path(click.get_app_dir("pith"))


@attrs.frozen
class ProjectSettings:
    """The routing settings a project's own files ask for, and where they come from.

    ``values`` maps a setting (``base-url``, ``model``, ``concurrency``, ``api-key``) to its value
    and ``sources`` to the file and name it was read from, for warnings.
    """

    directory: Path
    values: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    sources: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def read(
        cls, directory: Path, table: Mapping[str, Any], dotenv: Mapping[str, str]
    ) -> ProjectSettings:
        """The routing values of ``directory``'s ``[tool.pith]`` table and ``.env``; ``.env``
        wins over the table, as it always has."""
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for key in ROUTING_TABLE_KEYS:
            if key in table:
                values[key], sources[key] = table[key], f"./pyproject.toml [tool.pith] {key}"
        for setting, names in (
            ("base-url", ("PITH_BASE_URL",)),
            ("model", ("PITH_MODEL", "OPENROUTER_MODEL")),
            ("concurrency", ("PITH_CONCURRENCY",)),
            ("api-key", KEY_ENV_NAMES),
        ):
            for name in names:
                if dotenv.get(name):
                    values[setting], sources[setting] = dotenv[name], f"./.env {name}"
                    break
        return cls(directory=directory.resolve(), values=values, sources=sources)

    @property
    def fingerprint(self) -> str:
        """A digest of the routing values, with the key's presence only (the key itself is
        never hashed, stored or compared)."""
        shown = {k: str(v) for k, v in self.values.items() if k != "api-key"}
        shown["api-key"] = "set" if "api-key" in self.values else ""
        import hashlib  # here: read commands never check trust, and start without it

        blob = json.dumps(shown, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _record_path(environ: Mapping[str, str] | None) -> Path:
    return user_config_dir(environ) / _RECORD


def _read_record(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix or delete the file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"cannot read {path}: not a JSON object; fix or delete the file")
    return {str(k): str(v) for k, v in data.items()}


def _write_record(path: Path, record: Mapping[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(dict(sorted(record.items())), indent=2) + "\n", "utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc}") from None


def is_trusted(project: ProjectSettings, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user trusted exactly these routing values for this directory."""
    if not project.values:
        return True  # nothing to trust
    record = _read_record(_record_path(environ))
    return record.get(str(project.directory)) == project.fingerprint


def trust(project: ProjectSettings, environ: Mapping[str, str] | None = None) -> Path:
    """Remember that the user trusts these routing values for this directory; the record's
    path. A change to any of them later is untrusted again."""
    path = _record_path(environ)
    record = _read_record(path)
    record[str(project.directory)] = project.fingerprint
    _write_record(path, record)
    return path


def revoke(directory: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Forget the trust given to ``directory``; whether there was any."""
    path = _record_path(environ)
    record = _read_record(path)
    if record.pop(str(directory.resolve()), None) is None:
        return False
    _write_record(path, record)
    return True
