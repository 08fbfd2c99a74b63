"""Which TypeScript/JavaScript definitions get a function node (and so prose of their own): an
``export`` is a script's declared API and counts as one importer, so an exported function that
one other file imports gets a node where a Python one needs two importers."""

from __future__ import annotations

from pathlib import Path

from projects import write_tree

from pith._build import build
from pith._extract import extract
from pith._store import Store

PROJECT: dict[str, str | bytes] = {
    "src/util.ts": """\
        export function scale(a: number): number { return a * 2; }
        export const clamp = (a: number): number => Math.min(a, 1);
        export function unused(): void {}
        function local(): number { return 1; }
        export function twice(): number { return local() + local(); }
        """,
    "src/page.tsx": "export default function Page() {\n  return null;\n}\n",
    "src/app.ts": """\
        import { scale, clamp } from "./util";
        import Home from "./page";
        export const run = () => [scale(1), clamp(2), Home()];
        """,
    "src/util.test.ts": """\
        import { twice } from "./util";
        import { fixture } from "./fixtures";
        test("twice", () => expect(twice()).toBe(fixture()));
        """,
    "src/fixtures.ts": "export function fixture(): number { return 2; }\n",
    "test/helpers.ts": "export function seed(): number { return 1; }\n",
    "test/a.test.ts": 'import { seed } from "./helpers";\ntest("a", () => seed());\n',
    "lib/mod.py": "def helper():\n    return 1\n",
    "lib/use.py": "from lib.mod import helper\n\nhelper()\n",
}


def _functions(root: Path, db: Path) -> set[str]:
    with Store.open(db) as store:
        extract(root, store, workers=1)
        build(store)
        return {n.id for n in store.nodes() if n.type == "function"}


def test_an_exported_definition_one_file_imports_gets_a_node(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "web", PROJECT)
    assert _functions(root, tmp_path / "pith.db") == {
        "src/util.ts:scale",
        "src/util.ts:clamp",  # an arrow function bound to an exported const
        "src/page.tsx:Page",  # imported as the module's default
        "src/util.ts:twice",  # imported by its test alone
        "src/fixtures.ts:fixture",
        # not: `unused` (nothing imports it), `local` (not exported), `run` (nothing imports
        # it), `seed` (a helper of the test tree), lib/mod.py:helper (Python: one importer)
    }


def test_the_export_is_one_importer_against_the_threshold(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "web", PROJECT)
    (root / "pyproject.toml").write_text("[tool.pith]\nfunction-min-importers = 3\n")
    assert _functions(root, tmp_path / "pith.db") == set()
