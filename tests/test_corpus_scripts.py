"""extract + build on real TypeScript and JavaScript: exit 0, no traceback, the graph's
invariants (as `tests/test_corpus.py` checks them for Python), and facts worth having.

The sources are npm packages' published files: a schema library (zod), a CLI framework
(commander) and web frameworks (hono, express), pinned in `tests/npm-corpus.txt` and unpacked
from the npm cache with ``npm pack --offline`` (no network at test time; a package absent from
the cache is skipped, saying how to add it), and the JavaScript packages installed with node
itself (npm, corepack).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
from test_corpus import assert_graph_invariants, extract_and_build

SPECS = [
    line.strip()
    for line in (Path(__file__).parent / "npm-corpus.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
INSTALLED = [
    path
    for base in (Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules"))
    for path in (base / "npm", base / "corepack")
    if path.is_dir()
]


def _unpack(spec: str, into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the npm corpus cannot be unpacked")
    result = subprocess.run(
        [npm, "pack", "--offline", "--silent", spec],
        cwd=into,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    tarballs = list(into.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        pytest.skip(f"{spec} is not in the npm cache; add it once with `npm cache add {spec}`")
    with tarfile.open(tarballs[0]) as archive:
        archive.extractall(into / "src", filter="data")
    return into / "src" / "package"


def _code_root(package: Path) -> Path:
    """Where a published package's code is: its ``dist`` when all of it is there (pith skips
    build output inside a tree, as it should in a repository), else the package."""
    dist = package / "dist"
    outside = [
        p
        for p in package.rglob("*")
        if p.suffix in (".js", ".ts", ".mjs", ".cjs") and dist not in p.parents
    ]
    return dist if dist.is_dir() and not outside else package


def _extract_and_build(source: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extract_and_build(_code_root(source), data, capsys)
    assert_graph_invariants(data)


@pytest.mark.parametrize("spec", SPECS)
def test_extract_and_build_an_npm_package(spec, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    source = _unpack(spec, tmp_path)
    data = tmp_path / "data"
    _extract_and_build(source, data, capsys)
    db = sqlite3.connect(data / "pith.db")
    counts = dict(db.execute("SELECT type, COUNT(*) FROM nodes GROUP BY type").fetchall())
    assert counts["file"] >= 1
    symbols = dict(db.execute("SELECT kind, COUNT(*) FROM symbols GROUP BY kind").fetchall())
    assert symbols.get("function", 0) + symbols.get("method", 0) > 10, symbols
    # Relative imports that name a file of the package resolve to it.
    relative = resolved = 0
    for (facts,) in db.execute("SELECT facts FROM files"):
        for fact in json.loads(facts)["imports"]:
            if fact["module"].startswith("./") and fact["module"].endswith((".js", ".cjs")):
                relative += 1
                resolved += fact["resolved"] is not None
    assert resolved >= 0.9 * relative, (resolved, relative)
    references = db.execute("SELECT COUNT(*) FROM refs").fetchone()[0]
    assert references > 0


@pytest.mark.parametrize("source", INSTALLED, ids=lambda p: p.name)
def test_extract_and_build_an_installed_node_package(source, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _extract_and_build(source, tmp_path / "data", capsys)
