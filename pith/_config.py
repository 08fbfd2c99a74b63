"""Settings, resolved as: flag > environment > the project's files > the user's config > default.

The project's files are ``.env`` and ``pyproject.toml`` ``[tool.pith]`` in the working directory.
They belong to the codebase, which the user may not have written: the settings that route traffic
or spend money (``base-url``, ``model``, ``concurrency`` and the API key) are taken from them only
when the user trusted them (``pith trust``, see `pith._trust`); otherwise a value that would change
the outcome is ignored with one warning naming it. The user's own config is ``config.toml`` in the
user's config dir. The API key comes only from the environment or a trusted ``.env``: never from a
flag or a TOML file, and it is kept out of every ``repr``.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ._errors import ConfigError
from ._trust import ProjectSettings, is_trusted, user_config_dir

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MODEL",
    "DEFAULT_TIMEOUT",
    "STORE_DIR",
    "ConfigWarning",
    "DataDir",
    "Settings",
    "git_top",
    "is_local_url",
    "load_settings",
    "locate_data_dir",
    "prepare_data_dir",
    "project_settings",
    "read_dotenv",
    "read_target_config",
    "read_tool_table",
    "read_user_config",
    "redact_url",
]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_MODEL = "openai/gpt-4o-mini"
DEFAULT_CONCURRENCY = 5
DEFAULT_TIMEOUT = 120.0
STORE_DIR = ".pith"  # the data dir's name where pith chooses it

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


@attrs.frozen
class Settings:
    """The resolved settings of one invocation."""

    data_dir: Path
    model: str = DEFAULT_MODEL
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    api_key: str | None = attrs.field(default=None, repr=False)
    # How the data dir was chosen (see `DataDir`), for the error when it holds no store.
    data_dir_from: str = attrs.field(default="", repr=False)
    looked_in: tuple[Path, ...] = attrs.field(default=(), repr=False)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "pith.db"

    def where_looked(self) -> str:
        """Where pith looked for the store: ``no .pith directory in /a/b or above it, up to
        /a (the top of its git work tree)``, or ``no pith database in DIR (--data-dir)``."""
        if self.looked_in:
            return f"no {STORE_DIR} directory in {_searched(self.looked_in)}"
        origin = f" ({self.data_dir_from})" if self.data_dir_from else ""
        return f"no pith database in {self.data_dir}{origin}"

    def no_store_message(self) -> str:
        """The one line for a command that needs a store where there is none: it names
        where pith looked, and what to do."""
        if self.looked_in:
            return (
                f"no pith store: {self.where_looked()}; run `pith extract PATH` first (it "
                "creates the store at the top of PATH's git work tree), or pass --data-dir"
            )
        return f"{self.where_looked()}: run `pith extract PATH` first"

    @property
    def needs_api_key(self) -> bool:
        """A local endpoint (127.0.0.1, localhost) needs no key; anything else needs one."""
        return not is_local_url(self.base_url)

    def require_api_key(self) -> None:
        """Raise `ConfigError` when the endpoint needs a key and none was configured."""
        if self.needs_api_key and not self.api_key:
            raise ConfigError(
                f"no API key for {redact_url(self.base_url)}: set PITH_API_KEY (or "
                "OPENROUTER_API_KEY) in the environment (a ./.env counts once you ran `pith trust`)"
            )


def is_local_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in _LOCAL_HOSTS or host.startswith("127.")


def redact_url(url: str) -> str:
    """The URL without user, password or query string, fit for logs and reports."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "(not a valid URL)"
    netloc = parts.hostname or ""
    if port:
        netloc = f"{netloc}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=value`` lines, optional ``export``, quotes and # comments."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix or remove the file") from None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] in {'"', "'"} and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def read_tool_table(path: Path) -> dict[str, Any]:
    """The ``[tool.pith]`` table of the ``pyproject.toml`` at ``path``: {} when the file or the
    table is absent; `ConfigError` when the file cannot be read or parsed."""
    data = _read_toml(path)
    tool = data.get("tool", {})
    table = tool.get("pith", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.pith] must be a table, got {table!r}")
    _check_table(table, path, "[tool.pith] ", _TOOL_KEYS)
    return table


def _read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at ``path``; {} when there is none."""
    import tomllib  # here: most read commands read no pyproject.toml, and start without it

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


class ConfigWarning(UserWarning):
    """A setting that is ignored (an unknown key): the command goes on; the CLI prints it."""


def read_target_config(root: Path) -> dict[str, Any]:
    """The ``[tool.pith]`` table of ``root/pyproject.toml``; {} when absent. A pyproject that
    cannot be parsed is ignored with a `ConfigWarning` (a broken file in the codebase being
    read must not stop extraction, nor go unsaid); a bad ``[tool.pith]`` is a `ConfigError`."""
    path = root / "pyproject.toml"
    try:
        return read_tool_table(path)
    except ConfigError as exc:
        if "[tool.pith]" in str(exc):
            raise
        warnings.warn(
            ConfigWarning(f"{exc}; its [tool.pith] (globs, thresholds) is ignored"), stacklevel=2
        )
        return {}


# Every key [tool.pith] may hold, and the type of its value.
_TOOL_KEYS: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "base-url": str,
    "timeout": (int, float),
    "concurrency": int,
    "include": (list, str),
    "exclude": (list, str),
    "generate": (list, str),
    "function-min-lines": int,
    "function-min-complexity": int,
    "function-min-importers": int,
    "module-min-files": int,
}
# Every key the user's config.toml may hold: the LLM settings, not a codebase's globs.
_USER_KEYS = {key: _TOOL_KEYS[key] for key in ("model", "base-url", "timeout", "concurrency")}


def _check_table(
    table: Mapping[str, Any], path: Path, prefix: str, known: Mapping[str, type | tuple[type, ...]]
) -> None:
    """Wrong types are errors naming the key; unknown keys a warning naming the closest one."""
    for key, value in table.items():
        if key.replace("_", "-") in ("api-key", "key", "openrouter-api-key"):
            raise ConfigError(
                f"{path}: {prefix}{key}: pith never reads the API key from a TOML file; remove "
                "it (and rotate the key if the file is shared) and set PITH_API_KEY in the "
                "environment"
            )
        expected = known.get(key)
        if expected is None:
            import difflib  # for a typo only: every command reads the config

            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.warn(
                ConfigWarning(f"{path}: unknown key {prefix}{key!r} is ignored{hint}"),
                stacklevel=2,
            )
            continue
        bad = not isinstance(value, expected) or isinstance(value, bool)
        if isinstance(value, list):
            bad = bad or not all(isinstance(item, str) for item in value)
        if bad:
            kind = {
                str: "a string",
                int: "an integer",
                (list, str): "a glob or a list of glob strings",
            }.get(expected, "a number")
            raise ConfigError(f"{path}: {prefix}{key} must be {kind}, got {value!r}")


def read_user_config(path: Path) -> dict[str, Any]:
    """The user's own ``config.toml`` (top-level ``model``, ``base-url``, ``timeout``,
    ``concurrency``): {} when absent; `ConfigError` when it cannot be read or holds a wrong type."""
    table = _read_toml(path)
    _check_table(table, path, "", _USER_KEYS)
    return table


def load_settings(
    *,
    data_dir: str | Path | None = None,
    model: str | None = None,
    base_url: str | None = None,
    timeout: float | str | None = None,
    concurrency: int | str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve the settings; the keyword arguments are the command-line flags (None: not given),
    as typed or as given on the command line. Every source is validated here, the same way.

    Routing settings in the working directory's ``.env`` and ``[tool.pith]`` apply only when the
    user trusted them (``pith trust``); an untrusted one that would change the result is ignored
    with a `ConfigWarning` naming it."""
    cwd = Path.cwd() if cwd is None else cwd
    env = os.environ if environ is None else environ
    dotenv = read_dotenv(cwd / ".env")
    table = read_tool_table(cwd / "pyproject.toml")
    user = read_user_config(user_config_dir(env) / "config.toml")
    project = ProjectSettings.read(cwd, table, dotenv)
    trusted = is_trusted(project, env)

    def pick(flag: Any, env_names: tuple[str, ...], key: str, default: Any) -> Any:
        if flag is not None:
            return flag
        for name in env_names:
            if env.get(name):
                return env[name]
        if key in project.values and trusted:
            return project.values[key]
        if key == "timeout":  # a timeout spends nothing: the project's own is taken as is
            for source in (dotenv.get("PITH_TIMEOUT"), table.get("timeout")):
                if source:
                    return source
        chosen = user.get(key, default)
        if key in project.values and str(project.values[key]) != str(chosen):
            shown = "(a key)" if key == "api-key" else _shorten(repr(project.values[key]))
            warnings.warn(
                ConfigWarning(
                    f"{project.sources[key]} = {shown} is ignored: the codebase's files do not "
                    "choose where your key goes or what is paid for; if you wrote it, run "
                    "`pith trust` here (see docs/security.md)"
                ),
                stacklevel=3,
            )
        return chosen

    resolved_concurrency = _positive_int(
        pick(concurrency, ("PITH_CONCURRENCY",), "concurrency", DEFAULT_CONCURRENCY),
        "concurrency (-c/--concurrency, PITH_CONCURRENCY or concurrency in a config file)",
    )
    resolved_timeout = _positive_float(
        pick(timeout, ("PITH_TIMEOUT",), "timeout", DEFAULT_TIMEOUT),
        "timeout (--timeout, PITH_TIMEOUT or timeout in a config file)",
    )
    resolved_base_url = _base_url(
        pick(base_url, ("PITH_BASE_URL",), "base-url", DEFAULT_BASE_URL),
        "base URL (--base-url, PITH_BASE_URL or base-url in a config file)",
    )
    where = locate_data_dir(data_dir, cwd=cwd, environ=env)
    return Settings(
        data_dir=where.path,
        data_dir_from=where.chosen_by,
        looked_in=where.looked_in,
        model=str(pick(model, ("PITH_MODEL", "OPENROUTER_MODEL"), "model", DEFAULT_MODEL)),
        base_url=resolved_base_url,
        timeout=resolved_timeout,
        concurrency=resolved_concurrency,
        api_key=pick(None, ("PITH_API_KEY", "OPENROUTER_API_KEY"), "api-key", None),
    )


def project_settings(cwd: Path | None = None) -> ProjectSettings:
    """The routing settings that ``cwd``'s ``.env`` and ``[tool.pith]`` ask for (what
    ``pith trust`` records)."""
    cwd = Path.cwd() if cwd is None else cwd
    return ProjectSettings.read(
        cwd, read_tool_table(cwd / "pyproject.toml"), read_dotenv(cwd / ".env")
    )


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@attrs.frozen
class DataDir:
    """Where the store is, and how that was decided."""

    path: Path  # absolute
    # "--data-dir", "PITH_DATA_DIR", "PITH_DATA_DIR in ./.env", "the nearest .pith above
    # DIR"; "" when none was found (``path`` is then ``./.pith``, where a store would go)
    chosen_by: str
    # When none was given or found: the directories searched for ``.pith``, nearest first.
    looked_in: tuple[Path, ...] = ()
    given: bool = False  # by --data-dir or PITH_DATA_DIR, not found

    @property
    def found(self) -> bool:
        return not self.given and not self.looked_in


def locate_data_dir(
    data_dir: str | Path | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> DataDir:
    """The data dir: ``data_dir`` (the flag) > ``PITH_DATA_DIR`` in the environment, then in
    ``./.env`` > the nearest ``.pith`` directory in ``cwd`` or above it, up to the top of its
    git work tree (a store above that belongs to another project) or the filesystem's root.
    When there is none, ``./.pith`` with the directories searched. Reads no other setting,
    so it cannot fail on one; touches nothing."""
    cwd = Path.cwd() if cwd is None else cwd
    env = os.environ if environ is None else environ
    if data_dir:
        return DataDir(cwd / data_dir, "--data-dir", given=True)
    if env.get("PITH_DATA_DIR"):
        return DataDir(cwd / env["PITH_DATA_DIR"], "PITH_DATA_DIR", given=True)
    if dotenv_data_dir := read_dotenv(cwd / ".env").get("PITH_DATA_DIR"):
        chosen = cwd / dotenv_data_dir
        # A cloned codebase's .env is not the user's word: it may place the store inside the
        # project, never elsewhere (another project's store, a directory pith would create).
        if chosen.resolve().is_relative_to(cwd.resolve()):
            return DataDir(chosen, "PITH_DATA_DIR in ./.env", given=True)
        warnings.warn(
            ConfigWarning(
                f"{cwd / '.env'}: PITH_DATA_DIR={dotenv_data_dir} is outside {cwd} and is "
                "ignored; pass --data-dir or set PITH_DATA_DIR in the environment"
            ),
            stacklevel=2,
        )
    looked_in: list[Path] = []
    for directory in (cwd, *cwd.parents):
        looked_in.append(directory)
        if (directory / STORE_DIR).is_dir():
            above = "" if directory == cwd else f" above {cwd}"
            return DataDir(directory / STORE_DIR, f"the nearest {STORE_DIR}{above}")
        if (directory / ".git").exists():
            break
    return DataDir(cwd / STORE_DIR, "", tuple(looked_in))


def git_top(path: Path) -> Path | None:
    """The top of the git work tree holding ``path`` (the nearest directory at or above it
    with a ``.git`` entry, as git finds it), or None."""
    for directory in (path, *path.parents):
        if (directory / ".git").exists():
            return directory
    return None


def prepare_data_dir(path: Path) -> None:
    """Create the data dir if needed. A data dir pith creates, or one named ``.pith``, holds a
    ``.gitignore`` of ``*`` (as pytest's and ruff's caches do): the store is this clone's, and
    never shows in ``git status``. An existing ``.gitignore`` is left as it is."""
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    if created or path.name == STORE_DIR:
        # contextlib.suppress: a dir pith may not write to fails (or not) when the store opens.
        with contextlib.suppress(OSError), (path / ".gitignore").open("x", encoding="utf-8") as f:
            f.write("# pith's store: local to this clone\n*\n")


def _searched(looked_in: tuple[Path, ...]) -> str:
    """``/a/b/c or above it, up to /a (the top of its git work tree)``; ``/a (the top of its
    git work tree)`` when that is where pith started."""
    last = looked_in[-1]
    why = " (the top of its git work tree)" if (last / ".git").exists() else ""
    if len(looked_in) == 1:
        return f"{last}{why}"
    return f"{looked_in[0]} or above it, up to {last}{why}"


def _base_url(value: Any, name: str) -> str:
    url = str(value)
    fix = "use e.g. https://openrouter.ai/api/v1 or http://localhost:11434/v1"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid URL ({exc}); {fix}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{name} {redact_url(url)!r} is not an http(s) URL; {fix}")
    return url.rstrip("/")


MAX_CONCURRENCY = 1000
MAX_TIMEOUT = 3600.0


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(value)
        if isinstance(value, float | bool) or not 1 <= number <= MAX_CONCURRENCY:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be an integer from 1 to {MAX_CONCURRENCY}, got {value!r}"
        ) from None
    return number


def _positive_float(value: Any, name: str) -> float:
    try:
        number = float(value)
        if isinstance(value, bool) or not 0 < number <= MAX_TIMEOUT:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}, got {value!r}"
        ) from None
    return number
