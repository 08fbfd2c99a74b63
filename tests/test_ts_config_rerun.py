"""A change to ``tsconfig.json`` or ``package.json`` alone re-resolves the imports of unchanged
TypeScript files on the next extract (their bytes did not change, where they lead did)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from projects import write_tree

from pith._build import build
from pith._extract import extract
from pith._store import Store

PROJECT: dict[str, str | bytes] = {
    "tsconfig.json": '{"extends": "./configs/base"}\n',
    "configs/base.json": '{"compilerOptions": {"baseUrl": "..", "paths": {"@lib/*": ["old/*"]}}}',
    "old/net.ts": "export function connect(): void {}\n",
    "new/net.ts": "export function connect(): void {}\n",
    "src/main.ts": 'import { connect } from "@lib/net";\nexport const run = () => connect();\n',
    # a workspace package: its entry comes from its package.json
    "packages/core/package.json": '{"name": "@app/core", "main": "src/a.ts"}\n',
    "packages/core/src/a.ts": "export function a(): number { return 1; }\n",
    "packages/core/src/b.ts": "export function a(): number { return 2; }\n",
    "src/use.ts": 'import { a } from "@app/core";\nexport const b = () => a();\n',
}


def _imports(db_path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(db_path) as db:
        return set(db.execute("SELECT source, target FROM edges WHERE type = 'imports'"))


def _callers(db_path: Path, target: str) -> set[str]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT u.path FROM refs r JOIN uses u ON u.id = r.use WHERE r.target = ?", (target,)
        )
        return {row[0] for row in rows}


def _run(root: Path, db_path: Path) -> tuple[int, int]:
    """(parsed, unchanged) of an extract, then a build."""
    with Store.open(db_path) as store:
        summary = extract(root, store, workers=1)
        build(store)
    return summary.parsed, summary.unchanged


def test_a_config_change_alone_re_resolves_imports(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "web", PROJECT)
    db_path = tmp_path / "data" / "pith.db"
    _run(root, db_path)
    assert {("src/main.ts", "old/net.ts"), ("src/use.ts", "packages/core/src/a.ts")} <= _imports(
        db_path
    )
    assert _callers(db_path, "old/net.ts:connect") == {"src/main.ts"}

    # Nothing changed: nothing is parsed again.
    assert _run(root, db_path) == (0, len(PROJECT) - 3)  # but the three .json files

    # the config that tsconfig.json extends
    (root / "configs" / "base.json").write_text(
        '{"compilerOptions": {"baseUrl": "..", "paths": {"@lib/*": ["new/*"]}}}'
    )
    _run(root, db_path)
    edges = _imports(db_path)
    assert ("src/main.ts", "new/net.ts") in edges
    assert ("src/main.ts", "old/net.ts") not in edges
    # what the file's names lead to moved with it
    assert _callers(db_path, "new/net.ts:connect") == {"src/main.ts"}
    assert _callers(db_path, "old/net.ts:connect") == set()

    manifest = root / "packages" / "core" / "package.json"
    manifest.write_text(json.dumps({"name": "@app/core", "main": "src/b.ts"}))
    _run(root, db_path)
    edges = _imports(db_path)
    assert ("src/use.ts", "packages/core/src/b.ts") in edges
    assert ("src/use.ts", "packages/core/src/a.ts") not in edges
