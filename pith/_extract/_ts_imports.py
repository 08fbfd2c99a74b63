"""Where a TypeScript/JavaScript import specifier leads among the project's files.

Pure Python, no tree-sitter: the resolver is built for every extraction that holds such files,
in each worker process. Resolution, in order:

- a relative specifier (``./a``, ``../lib/b.js``) from the importer's directory;
- a ``paths`` mapping, then ``baseUrl``, of the nearest ``tsconfig.json`` / ``jsconfig.json``
  above the importer (``extends`` followed, comments and trailing commas allowed);
- a package of the monorepo's workspaces (``workspaces`` of the root ``package.json``, or any
  project ``package.json`` with a ``name``): its ``exports``/``module``/``main``/``types`` entry,
  mapped back from build output (``dist/index.js``) to the source beside it (``src/index.ts``)
  when that output is not in the tree; ``name/sub`` under the package's directory;
- anything else (a bare package name such as ``react`` or ``node:fs``) stays external (None).

A specifier names a file with its extension, without it (``.ts``, ``.tsx``, ``.js``... tried in
that order), or a directory with an ``index`` file; ``./a.js`` also finds ``a.ts`` (ESM-style
TypeScript).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._roles import SCRIPT_SUFFIXES  # in resolution order

__all__ = ["SCRIPT_SUFFIXES", "TsResolver", "read_jsonc"]

_JS_TO_TS = {
    ".js": (".ts", ".tsx", ".d.ts"),
    ".jsx": (".tsx",),
    ".mjs": (".mts", ".d.mts"),
    ".cjs": (".cts", ".d.cts"),
}
_CONFIG_NAMES = ("tsconfig.json", "jsconfig.json")
_CONFIG_BYTES = 200_000
_JSONC_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)
_OUTPUT_DIRS = ("dist/", "build/", "lib/", "out/", "esm/", "cjs/")


def read_jsonc(path: Path) -> Any:
    """A JSON file that may hold comments and trailing commas (tsconfig.json); None when it is
    missing, too large or not JSON."""
    try:
        if path.stat().st_size > _CONFIG_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None

    def keep(match: re.Match[str]) -> str:
        token = match.group()
        return token if token.startswith('"') else ""

    try:
        return json.loads(_JSONC_TOKENS.sub(keep, text))
    except ValueError:
        return None


class TsResolver:
    """Resolves import specifiers of the project's script files to file ids (see the module
    docstring). ``root`` is where the configuration files are read (None: relative specifiers
    only)."""

    def __init__(self, file_ids: Iterable[str], root: Path | None) -> None:
        self.files = frozenset(file_ids)
        self.root = root
        self._configs: dict[str, tuple[str, dict[str, list[str]]] | None] = {}
        self._packages: dict[str, str] | None = None  # package name -> its directory
        self._entries: dict[str, str | None] = {}

    # --- files --------------------------------------------------------------------------

    def _file(self, path: str) -> str | None:
        """The project file ``path`` (normalized, relative to the root) names."""
        path = posixpath.normpath(path)
        if path.startswith("../") or path == "..":
            return None
        path = path.removeprefix("./")
        if path in self.files and path.endswith(SCRIPT_SUFFIXES):
            return path
        stem, suffix = posixpath.splitext(path)
        for alternative in _JS_TO_TS.get(suffix, ()):
            if stem + alternative in self.files:
                return stem + alternative
        for candidate_suffix in SCRIPT_SUFFIXES:
            if path + candidate_suffix in self.files:
                return path + candidate_suffix
        base = "" if path == "." else f"{path}/"
        for candidate_suffix in SCRIPT_SUFFIXES:
            if f"{base}index{candidate_suffix}" in self.files:
                return f"{base}index{candidate_suffix}"
        return None

    # --- tsconfig -----------------------------------------------------------------------

    def _config(self, directory: str) -> tuple[str, dict[str, list[str]]] | None:
        """(baseUrl relative to the root, paths) of the nearest tsconfig at or above
        ``directory``."""
        if directory in self._configs:
            return self._configs[directory]
        found: tuple[str, dict[str, list[str]]] | None = None
        if self.root is not None:
            for name in _CONFIG_NAMES:
                options = self._compiler_options(f"{directory}/{name}" if directory else name, 0)
                if options is not None:
                    found = options
                    break
            else:
                if directory:
                    found = self._config(directory.rpartition("/")[0])
        self._configs[directory] = found
        return found

    def _compiler_options(self, config: str, depth: int) -> tuple[str, dict[str, list[str]]] | None:
        assert self.root is not None
        data = read_jsonc(self.root / config)
        if not isinstance(data, dict):
            return None
        directory = posixpath.dirname(config)
        base: tuple[str, dict[str, list[str]]] = (directory, {})
        parent = _extended(config, data)
        if parent is not None and depth < 4:
            inherited = self._compiler_options(parent, depth + 1)
            if inherited is not None:
                base = inherited
        options = data.get("compilerOptions")
        if not isinstance(options, dict):
            return base
        base_url, paths = base
        if isinstance(options.get("baseUrl"), str):
            base_url = posixpath.normpath(posixpath.join(directory, options["baseUrl"]))
        if isinstance(options.get("paths"), dict):
            paths = {
                key: [v for v in value if isinstance(v, str)]
                for key, value in options["paths"].items()
                if isinstance(value, list)
            }
            # paths are relative to baseUrl when set, else to the config's own directory
            if not isinstance(options.get("baseUrl"), str) and base_url == base[0]:
                base_url = directory
        return base_url.removeprefix("."), paths

    def _configured(self, importer_dir: str, specifier: str) -> str | None:
        config = self._config(importer_dir)
        if config is None:
            return None
        base_url, paths = config
        for pattern, targets in paths.items():
            prefix, star, suffix = pattern.partition("*")
            if star:
                if not (specifier.startswith(prefix) and specifier.endswith(suffix)):
                    continue
                if len(specifier) < len(prefix) + len(suffix):
                    continue
                middle = specifier[len(prefix) : len(specifier) - len(suffix)]
            elif specifier != pattern:
                continue
            else:
                middle = ""
            for target in targets:
                found = self._file(posixpath.join(base_url, target.replace("*", middle)))
                if found is not None:
                    return found
        if base_url or paths:
            return self._file(posixpath.join(base_url, specifier))
        return None

    # --- workspaces ---------------------------------------------------------------------

    def _workspace_packages(self) -> dict[str, str]:
        """Package name -> directory, for every package.json beside a project file."""
        if self._packages is not None:
            return self._packages
        packages: dict[str, str] = {}
        if self.root is not None:
            directories = {f.rpartition("/")[0] for f in self.files}
            for directory in list(directories):
                while directory:  # a package's sources may sit in src/
                    directory = directory.rpartition("/")[0]
                    directories.add(directory)
            for directory in sorted(directories, key=lambda d: (d.count("/"), d)):
                if "node_modules" in directory.split("/"):
                    continue
                manifest = self.root / directory / "package.json"
                if not manifest.is_file():
                    continue
                data = read_jsonc(manifest)
                name = data.get("name") if isinstance(data, dict) else None
                if isinstance(name, str) and name and name not in packages:
                    packages[name] = directory
                    self._entries[directory] = self._package_entry(directory, data)
        self._packages = packages
        return packages

    def _package_entry(self, directory: str, manifest: dict[str, Any]) -> str | None:
        """The project file a package's bare name leads to."""
        candidates: list[str] = []
        exports = manifest.get("exports")
        if isinstance(exports, dict) and "." in exports:
            exports = exports["."]
        candidates.extend(_condition_targets(exports))
        for key in ("source", "module", "main", "types", "typings"):
            if isinstance(manifest.get(key), str):
                candidates.append(manifest[key])
        candidates += ["src/index", "index"]
        for candidate in candidates:
            path = posixpath.join(directory, candidate)
            found = self._file(path)
            if found is None:
                # Built output (dist/index.js) that is not in the tree: its source.
                relative = posixpath.normpath(candidate).removeprefix("./")
                for output in _OUTPUT_DIRS:
                    if relative.startswith(output):
                        stem = posixpath.splitext(relative[len(output) :])[0]
                        stem = stem.removesuffix(".d")
                        found = self._file(posixpath.join(directory, "src", stem))
                        found = found or self._file(posixpath.join(directory, stem))
                        break
            if found is not None:
                return found
        return None

    def _workspace(self, specifier: str) -> str | None:
        packages = self._workspace_packages()
        if not packages:
            return None
        parts = specifier.split("/")
        name_parts = 2 if specifier.startswith("@") else 1
        name = "/".join(parts[:name_parts])
        directory = packages.get(name)
        if directory is None:
            return None
        rest = "/".join(parts[name_parts:])
        if not rest:
            return self._entries.get(directory)
        return self._file(posixpath.join(directory, "src", rest)) or self._file(
            posixpath.join(directory, rest)
        )

    # --- what resolution reads -------------------------------------------------------------

    def config_fingerprint(self) -> str:
        """A digest of every configuration file resolution may read: ``tsconfig.json`` and
        ``jsconfig.json`` (and the files they extend) and ``package.json``, in any directory
        of a script file or above it (a package's entry is a script below its package.json).
        When it changes, an import of an unchanged file may lead elsewhere
        (`pith._extract._run` then resolves them again)."""
        if self.root is None:
            return ""
        directories = {""}
        for file in self.files:
            if not file.endswith(SCRIPT_SUFFIXES):
                continue
            directory = file.rpartition("/")[0]
            while directory not in directories:
                directories.add(directory)
                directory = directory.rpartition("/")[0]
        contents: dict[str, bytes] = {}
        for directory in sorted(directories):
            if "node_modules" in directory.split("/"):
                continue
            for name in (*_CONFIG_NAMES, "package.json"):
                self._read_config(posixpath.join(directory, name), contents, 0)
        digest = hashlib.sha256()
        for config, data in sorted(contents.items()):
            digest.update(f"{config}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()

    def _read_config(self, config: str, contents: dict[str, bytes], depth: int) -> None:
        """``config``'s bytes into ``contents``, and those of the configs it extends."""
        assert self.root is not None
        if config in contents or config.startswith("../"):
            return
        try:
            data = (self.root / config).read_bytes()
        except OSError:
            return  # missing (the common case), or unreadable: as resolution sees it
        contents[config] = data
        if depth >= 4 or config.endswith("package.json"):
            return
        parent = _extended(config, read_jsonc(self.root / config))
        if parent is not None:
            self._read_config(parent, contents, depth + 1)

    # --- the one entry point ------------------------------------------------------------

    def resolve(self, importer: str, specifier: str) -> str | None:
        """The project file ``specifier`` leads to from file ``importer``, or None (external,
        or nothing in the project matches). Never ``importer`` itself."""
        importer_dir = importer.rpartition("/")[0]
        specifier = specifier.split("?", 1)[0]
        if not specifier or specifier.startswith(("node:", "http:", "https:", "data:")):
            return None
        if specifier.startswith("."):
            found = self._file(posixpath.join(importer_dir, specifier))
        elif specifier.startswith("/"):
            found = None
        else:
            found = self._configured(importer_dir, specifier) or self._workspace(specifier)
        return None if found == importer else found


def _extended(config: str, data: Any) -> str | None:
    """The project config a tsconfig's relative ``extends`` names (a package's: None)."""
    extends = data.get("extends") if isinstance(data, dict) else None
    if not isinstance(extends, str) or not extends.startswith("."):
        return None
    parent = posixpath.normpath(posixpath.join(posixpath.dirname(config), extends))
    return parent if parent.endswith(".json") else parent + ".json"


def _condition_targets(value: Any) -> list[str]:
    """The paths of an ``exports`` entry: a string, a list, or conditions (source-like ones
    first)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _condition_targets(v)]
    if isinstance(value, dict):
        order = ["source", "development", "import", "module", "default", "require", "types"]
        keys = sorted(value, key=lambda k: order.index(k) if k in order else len(order))
        return [t for k in keys for t in _condition_targets(value[k])]
    return []
