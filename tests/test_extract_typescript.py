"""TypeScript and JavaScript: facts from one file (`parse_script`), import resolution
(`TsResolver`), and a small monorepo through extract and build (the graph, references, tests)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pith._build import build
from pith._extract import extract
from pith._extract._languages import parse_file
from pith._extract._ts_imports import TsResolver, read_jsonc
from pith._extract._typescript import parse_script
from pith._models import SymbolKind, is_test_path
from pith._store import LARGE_CLASS_LINES, Store
from pith._wiki._read import WikiReader

CLIENT = """\
/**
 * @file The HTTP client.
 */
import retry, { backoff as wait } from "./retry";
import * as util from "../util";
import type { Options } from "@app/types";
export * from "./errors";
export { Status as Code } from "./status";

const DEFAULT_TIMEOUT_MS = 5000;
export const BASE_URL = "https://api.example.com/v1";

/** Sends one request; retries on failure. */
export const send = async (url: string, options?: Options): Promise<Response> => {
  if (!url || url.length > 2000) {
    throw new Error("bad url");
  }
  return retry(() => fetch(url), { timeout: DEFAULT_TIMEOUT_MS });
};

export default class Client extends util.Base implements Disposable {
  private retries = 3;

  /** Gets one resource. */
  async get(path: string): Promise<unknown> {
    for (const attempt of [1, 2]) {
      if (attempt > this.retries) break;
    }
    return this.request(path) ?? wait(1);
  }

  request = (path: string) => send(BASE_URL + path);

  static create(): Client {
    return new Client();
  }
}

export interface Settings extends Options {
  timeout: number;
}

export type Id = string | number;

export function helper(id: Id): Settings {
  return { timeout: id ? 1 : 2 };
}
"""


@pytest.fixture
def client_facts():
    files = [
        "src/client.ts",
        "src/retry.ts",
        "src/errors.ts",
        "src/status.tsx",
        "util/index.js",
        "src/types/index.d.ts",
    ]
    return parse_script("src/client.ts", CLIENT.encode(), TsResolver(files, None))


def test_functions_classes_methods_and_their_docs(client_facts):
    facts = client_facts
    assert facts.problem is None
    assert facts.docstring == "The HTTP client."  # the tag marks it; it is not what it says
    functions = {f.qualname: f for f in facts.functions}
    assert set(functions) == {"send", "helper"}
    send = functions["send"]
    # an arrow function bound to a const is a function, with its JSDoc and async-ness
    assert send.is_async
    assert send.docstring == "Sends one request; retries on failure."
    assert send.header == "async function send(url: string, options?: Options): Promise<Response>"
    assert (send.start_line, send.end_line) == (14, 19)
    assert send.complexity == 3  # 1 + if + ||
    [client] = facts.classes
    assert client.header == "class Client extends util.Base implements Disposable"
    assert client.bases == ("util.Base",)
    methods = {m.qualname: m for m in client.methods}
    assert set(methods) == {"Client.get", "Client.request", "Client.create"}
    assert methods["Client.get"].docstring == "Gets one resource."
    assert methods["Client.get"].complexity == 4  # 1 + for + if + ??
    assert methods["Client.create"].header == "static create(): Client"
    assert facts.definition("Client.request") is methods["Client.request"]


def test_symbols_cover_interfaces_types_and_constants(client_facts):
    kinds = {s.qualname: s.kind for s in client_facts.symbols}
    assert kinds["Settings"] is SymbolKind.CLASS
    assert kinds["Id"] is SymbolKind.CONSTANT
    assert kinds["DEFAULT_TIMEOUT_MS"] is SymbolKind.CONSTANT
    assert kinds["Client.get"] is SymbolKind.METHOD
    assert kinds["send"] is SymbolKind.FUNCTION
    signatures = {s.qualname: s.signature for s in client_facts.symbols}
    assert signatures["Settings"] == "interface Settings extends Options"
    assert signatures["Id"] == "type Id = string | number;"


def test_imports_exports_and_bindings(client_facts):
    facts = client_facts
    resolved = {i.module: i.resolved for i in facts.imports}
    assert resolved == {
        "./retry": "src/retry.ts",
        "../util": "util/index.js",  # a directory's index file
        "@app/types": None,  # no tsconfig here: a bare name stays external
        "./errors": "src/errors.ts",
        "./status": "src/status.tsx",
    }
    names = {i.module: i.names for i in facts.imports}
    assert names["./retry"] == ("default", "backoff")
    assert names["./errors"] == ("*",)
    assert set(facts.exports) == {
        "Code",
        "BASE_URL",
        "send",
        "Client",
        "default",
        "Settings",
        "Id",
        "helper",
    }
    bindings = {local: (file, dotted) for local, file, dotted in facts.bindings}
    assert bindings["retry"] == ("src/retry.ts", "default")
    assert bindings["wait"] == ("src/retry.ts", "backoff")
    assert bindings["util"] == ("util/index.js", "")
    assert bindings["Code"] == ("src/status.tsx", "Status")  # a re-export
    assert bindings["default"] == ("src/client.ts", "Client")  # `export default class Client`
    assert facts.star_imports == ("src/errors.ts",)


def test_uses_link_to_definitions_members_and_imports(client_facts):
    uses = {(u.scope, u.target, u.dotted, u.member) for u in client_facts.uses}
    assert ("Client.get", "src/client.ts", "Client.request", False) in uses  # this.request
    assert ("Client.get", "src/retry.ts", "backoff", False) in uses  # wait(1), imported
    assert ("Client.request", "src/client.ts", "send", False) in uses
    assert ("Client.request", "src/client.ts", "BASE_URL", False) in uses
    assert ("helper", "src/client.ts", "Id", False) in uses  # a type reference
    assert ("send", "src/retry.ts", "default", False) in uses
    assert ("Client", "util/index.js", "Base", False) in uses  # the base class
    # a declaration is not a use of itself
    assert not any(u.scope == "" and u.dotted == "send" for u in client_facts.uses)


def test_key_statements(client_facts):
    found = {(k.kind, k.line) for k in client_facts.key_statements}
    assert ("url", 11) in found
    assert ("raise", 16) in found
    assert ("timeout", 10) in found  # DEFAULT_TIMEOUT_MS = 5000
    assert ("timeout", 18) not in found  # { timeout: DEFAULT_TIMEOUT_MS }: no literal
    assert ("timeout", 46) in found  # { timeout: id ? 1 : 2 }
    assert ("retry", 22) in found  # private retries = 3
    assert len(found) == len(client_facts.key_statements)  # each line and kind once


def test_commonjs_module():
    source = textwrap.dedent(
        """\
        'use strict';
        var debug = require('debug')('app');
        var Router = require('./router');
        var { compile, parse: parseIt } = require('./utils');

        var app = exports = module.exports = {};

        /** Sets up the app. */
        app.init = function init() {
          this.cache = Object.create(null);
          return parseIt(compile('x'));
        };

        Router.prototype.route = function route(path) {
          return new Router(path);
        };

        exports.handle = function (req, res) { return app.init(); };
        """
    )
    files = ["lib/app.js", "lib/router.js", "lib/utils.js"]
    facts = parse_script("lib/app.js", source.encode(), TsResolver(files, None))
    assert facts.problem is None
    resolved = {i.module: i.resolved for i in facts.imports}
    assert resolved == {"debug": None, "./router": "lib/router.js", "./utils": "lib/utils.js"}
    functions = {f.qualname: f for f in facts.functions}
    assert set(functions) == {"app.init", "Router.route", "handle"}
    assert functions["app.init"].docstring == "Sets up the app."
    assert "handle" in facts.exports
    bindings = {local: (file, dotted) for local, file, dotted in facts.bindings}
    assert bindings["parseIt"] == ("lib/utils.js", "parse")
    assert bindings["compile"] == ("lib/utils.js", "compile")
    uses = {(u.scope, u.target, u.dotted) for u in facts.uses}
    assert ("app.init", "lib/utils.js", "parse") in uses
    assert ("handle", "lib/app.js", "app.init") in uses


def test_jsx_and_javascript_grammars():
    tsx = b"export function App({ name }: { name: string }) {\n  return <div>{name}</div>;\n}\n"
    facts = parse_file("ui/App.tsx", tsx, None)
    assert [f.name for f in facts.functions] == ["App"]
    jsx = b"export default function App() {\n  return <p>hi</p>;\n}\n"
    facts = parse_file("ui/app.jsx", jsx, None)
    assert [f.name for f in facts.functions] == ["App"]
    assert facts.exports == ("App", "default")


def test_bad_minified_and_generated_files_are_said():
    assert parse_script("a.js", b"\xff\xfe").problem == (
        "bytes invalid in utf-8 at offset 0; not parsed"
    )
    minified = b"var a=1;" * 400 + b"\n"
    assert "minified" in (parse_script("m.js", minified).problem or "")
    generated = b"// Code generated by protoc. DO NOT EDIT.\nexport const x = 1;\n"
    assert "generated" in (parse_script("g.ts", generated).problem or "")
    generated = b"/**\n * @generated by a tool\n */\nexport const x = 1;\n"
    assert "generated" in (parse_script("g.ts", generated).problem or "")
    # a decorator named so is code, not a marker
    decorated = (
        b"import { Generated } from 'typeorm';\nclass A {\n  @Generated()\n  id: number;\n}\n"
    )
    assert parse_script("e.ts", decorated).problem is None
    documented = b"/**\n * Makes auto-generated names.\n */\nexport const x = 1;\n"
    assert parse_script("n.ts", documented).problem is None
    late = b"export const x = 1;\n// DO NOT EDIT the line above\n"
    assert parse_script("l.ts", late).problem is None
    # a syntax error is recovered from: what parses still counts
    broken = parse_script("b.ts", b"export function ok() { return 1 }\nconst = ;\n")
    assert broken.problem is None
    assert [f.name for f in broken.functions] == ["ok"]


def test_read_jsonc(tmp_path):
    path = tmp_path / "tsconfig.json"
    path.write_text('{\n  // a comment\n  "a": "http://x//y", /* more */\n  "b": [1, 2,],\n}\n')
    assert read_jsonc(path) == {"a": "http://x//y", "b": [1, 2]}
    path.write_text("{ not json")
    assert read_jsonc(path) is None
    assert read_jsonc(tmp_path / "missing.json") is None


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


MONOREPO = {
    "package.json": (
        '{"name": "mono", "private": true, "workspaces": ["packages/*"],'
        ' "bin": {"mono": "bin/mono.js"}}'
    ),
    "tsconfig.json": """\
        {
          "compilerOptions": {
            "baseUrl": ".",
            // aliases
            "paths": {"@core/*": ["packages/core/src/*"]},
          },
        }
        """,
    "packages/core/package.json": (
        '{"name": "@mono/core", "exports": {".": {"import": "./dist/index.js"}},'
        ' "scripts": {"test": "vitest --run"}}'
    ),
    "packages/core/src/index.ts": """\
        export * from "./store";
        export { connect as open } from "./net";
        """,
    "packages/core/src/store.ts": """\
        /** A key-value store. */
        export class Store {
          get(key: string): string | undefined { return this.has(key) ? "" : undefined; }
          has = (key: string): boolean => key in this;
        }
        """,
    "packages/core/src/net.ts": """\
        export async function connect(url: string): Promise<void> {
          if (!url) throw new Error("no url");
        }
        """,
    "packages/core/src/store.test.ts": """\
        import { Store } from "./store";
        test("get", () => { expect(new Store().get("a")).toBeUndefined(); });
        """,
    "packages/core/src/__tests__/net.ts": """\
        import { connect } from "@core/net";
        test("connect", async () => { await connect("x"); });
        """,
    "packages/app/package.json": '{"name": "app", "main": "src/main.ts"}',
    "packages/app/src/main.ts": """\
        import { Store, open } from "@mono/core";
        import { connect } from "@core/net";
        import chalk from "chalk";
        export function main(): void {
          const store = new Store();
          store.get("x");
          void open("a");
          void connect("b");
        }
        """,
    "packages/app/src/legacy.js": """\
        const { main } = require("./main");
        module.exports = function run() { return main(); };
        """,
    "packages/app/src/vendor.min.js": "var a=1;",
    "packages/app/dist/main.js": "exports.main = function () {};",
    "node_modules/chalk/index.js": "module.exports = {};",
    "tools/gen.py": "def generate():\n    return 1\n",
}


@pytest.fixture
def monorepo(tmp_path):
    root = tmp_path / "mono"
    _write(root, MONOREPO)
    store = Store.open(tmp_path / "data" / "pith.db")
    summary = extract(root, store, workers=1)
    build(store)
    return store, summary, sqlite3.connect(tmp_path / "data" / "pith.db")


def test_a_monorepo_through_extract_and_build(monorepo):
    store, summary, db = monorepo
    files = {row[0] for row in db.execute("SELECT path FROM files")}
    # node_modules and build output are never read; a minified bundle is listed with why
    assert not any(f.startswith(("node_modules/", "packages/app/dist/")) for f in files)
    skipped = {s.path: s.reason for s in summary.skipped}
    assert skipped == {"packages/app/src/vendor.min.js": "minified (by its name); not read"}
    assert "tools/gen.py" in files  # one store for both languages
    facts = {f.path: f for f in store.all_file_facts()}
    main = {i.module: i.resolved for i in facts["packages/app/src/main.ts"].imports}
    assert main == {
        "@mono/core": "packages/core/src/index.ts",  # a workspace package, dist -> src
        "@core/net": "packages/core/src/net.ts",  # tsconfig paths
        "chalk": None,
    }
    edges = set(db.execute("SELECT source, target, type FROM edges"))
    assert ("packages/app/src/main.ts", "packages/core/src/index.ts", "imports") in edges
    assert ("packages/core/src/store.ts", "packages/core/src/store.test.ts", "testFile") in edges
    assert ("packages/core/src/net.ts", "packages/core/src/__tests__/net.ts", "testFile") in edges
    # directories with an index file are modules
    modules = {row[0] for row in db.execute("SELECT id FROM nodes WHERE type = 'module'")}
    assert "packages/core/src" in modules
    # and so are workspace packages, whatever they hold directly
    assert {"packages/core", "packages/app"} <= modules
    overview = json.loads(db.execute("SELECT metadata FROM nodes WHERE id = '.'").fetchone()[0])
    assert "mono = node bin/mono.js" in overview["entry_points"]
    # references cross re-exports: `export *` and `export { connect as open }`
    callers = {
        (target, path + (":" + scope if scope else ""))
        for target, path, scope in db.execute(
            "SELECT r.target, u.path, u.scope FROM refs r JOIN uses u ON u.id = r.use"
        )
    }
    assert ("packages/core/src/store.ts:Store", "packages/app/src/main.ts:main") in callers
    assert ("packages/core/src/net.ts:connect", "packages/app/src/main.ts:main") in callers
    assert ("packages/core/src/store.ts:Store.has", "packages/core/src/store.ts:Store.get") in (
        callers
    )
    assert ("packages/app/src/main.ts:main", "packages/app/src/legacy.js:default") in callers
    assert is_test_path("packages/core/src/__tests__/net.ts")
    # the command that runs a test: the runner the package's test script names
    tests = WikiReader(store).tests_of("packages/core/src/store.ts")
    assert [(t["id"], t["command"]) for t in tests] == [
        (
            "packages/core/src/store.test.ts",
            "cd packages/core && npx vitest run src/store.test.ts",
        )
    ]
    # ask ranks script files as it ranks Python ones, in one store
    from pith._wiki._retrieve import rank_files

    ranked = [r.id for r in rank_files(store, "connect url")]
    assert ranked[0] == "packages/core/src/net.ts"
    ranked = [r.id for r in rank_files(store, "generate")]
    assert ranked[0] == "tools/gen.py"
    # a JavaScript package's prompt names its public API: the exports of its src/index.ts
    from pith._generate._prompt_builder import PromptBuilder

    module = next(n for n in store.nodes() if n.id == "packages/core")
    prompt = PromptBuilder(store).prompt(module).messages[1]["content"]
    assert "Public API (exported names): open" in prompt
    outline = json.loads(
        db.execute("SELECT outline FROM files WHERE path = 'packages/core/src/net.ts'").fetchone()[
            0
        ]
    )
    assert outline["definitions"][0]["qualname"] == "connect"


def test_a_python_only_extraction_never_loads_tree_sitter(tmp_path):
    root = tmp_path / "py"
    _write(root, {"pkg/__init__.py": "", "pkg/a.py": "def f():\n    return 1\n"})
    code = textwrap.dedent(
        f"""
        import sys
        from pith._extract import extract
        from pith._store import Store
        from pathlib import Path
        extract({str(root)!r}, Store.open(Path({str(tmp_path / "pith.db")!r})), workers=1)
        assert "tree_sitter" not in sys.modules, "tree_sitter loaded"
        assert "pith._extract._typescript" not in sys.modules
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_prompts_say_the_language(client_facts):
    from pith._generate._prompts import ChildSummary, file_prompt, function_prompt, module_prompt
    from pith._models import Node, NodeType

    node = Node("src/client.ts", NodeType.FILE, "src/client.ts", "client.ts", "h")
    system, user = (m["content"] for m in file_prompt(node, client_facts, None))
    assert "You document one TypeScript file" in system
    assert "```typescript\n" in user
    assert "async function send(url: string" in user  # a snippet kept, as written
    send = client_facts.definition("send")
    node = Node("src/client.ts:send", NodeType.FUNCTION, "src/client.ts", "send", "h")
    system, user = (m["content"] for m in function_prompt(node, client_facts, send, ()))
    assert "one TypeScript function or class" in system
    assert "Signature: async function send(" in user
    children = [
        ChildSummary("web/app.js", NodeType.FILE, None),
        ChildSummary("web/api.py", NodeType.FILE, None),
    ]
    node = Node("web", NodeType.MODULE, "web", "web", "h")
    system = module_prompt(node, children, None, ())[0]["content"]
    assert "one JavaScript and Python package" in system


def test_specifiers_resolve_as_typescript_does():
    files = [
        "src/a.ts",
        "src/b.tsx",
        "src/c.d.ts",
        "src/lib/index.mjs",
        "src/m.mts",
        "main.js",
    ]
    resolver = TsResolver(files, None)
    assert resolver.resolve("src/x.ts", "./a.js") == "src/a.ts"  # ESM-style TypeScript
    assert resolver.resolve("src/x.ts", "./b.jsx") == "src/b.tsx"
    assert resolver.resolve("src/x.d.ts", "./c.js") == "src/c.d.ts"  # a declaration file
    assert resolver.resolve("src/x.ts", "./m.mjs") == "src/m.mts"
    assert resolver.resolve("src/x.ts", "./lib") == "src/lib/index.mjs"
    assert resolver.resolve("src/x.ts", "../main") == "main.js"
    assert resolver.resolve("src/x.ts", "../../outside") is None  # above the root
    assert resolver.resolve("src/a.ts", "./a") is None  # never the importer itself
    assert resolver.resolve("src/x.ts", "node:fs") is None
    assert resolver.resolve("src/x.ts", "react") is None


@pytest.mark.parametrize(
    ("manifest", "command"),
    [
        ({"scripts": {"test": "jest --coverage"}}, "cd web && npx jest src/a.test.ts"),
        ({"devDependencies": {"mocha": "^10"}}, "cd web && npx mocha src/a.test.ts"),
        ({"scripts": {"test": "node --test"}}, "cd web && node --test src/a.test.ts"),
        ({"scripts": {"test": "make check"}}, "cd web && npm test"),
        (None, "npx vitest run web/src/a.test.ts"),
    ],
)
def test_the_command_that_runs_a_script_test(tmp_path, manifest, command):
    from pith._roles import script_test_command

    (tmp_path / "web" / "src").mkdir(parents=True)
    if manifest is not None:
        (tmp_path / "web" / "package.json").write_text(json.dumps(manifest))
    assert script_test_command(str(tmp_path), "web/src/a.test.ts") == command


def test_exported_links_reach_pages_of_typescript_ids(tmp_path):
    import re
    from urllib.parse import unquote

    from pith._wiki._export import export_markdown

    root = tmp_path / "web"
    long_body = "\n".join(f"    const v{i} = {i};" for i in range(LARGE_CLASS_LINES))
    _write(
        root,
        {
            "pages/[slug].tsx": "export default function Page() {\n  return null;\n}\n",
            "src/a.ts": (
                f"export class A {{\n  #hidden(): void {{\n{long_body}\n  }}\n"
                "  run(): void { this.#hidden(); }\n}\n"
            ),
        },
    )
    (root / "pyproject.toml").write_text("[tool.pith]\nfunction-min-lines = 1\n")
    store = Store.open(tmp_path / "data" / "pith.db")
    extract(root, store, workers=1)
    build(store)
    assert "src/a.ts:A.#hidden" in set(store.node_ids())
    out = tmp_path / "wiki"
    export_markdown(store, out)
    checked = 0
    for page in out.rglob("*.md"):
        for target in re.findall(r"\]\(([^)\s]+\.md)\)", page.read_text()):
            assert (page.parent / unquote(target)).is_file(), (page, target)
            checked += 1
    assert checked > 3


def test_declared_functions_and_overloads():
    source = (
        b"declare function fetch(url: string): Promise<Response>;\n"
        b"export function pick(a: string): string;\n"
        b"export function pick(a: number): number;\n"
        b"export function pick(a: any): any {\n  return a;\n}\n"
    )
    facts = parse_script("a.ts", source)
    symbols = {s.qualname: s for s in facts.symbols}
    assert symbols["fetch"].signature == "function fetch(url: string): Promise<Response>"
    # the implementation stands for an overloaded name, not its first signature
    assert (symbols["pick"].start_line, symbols["pick"].end_line) == (4, 6)
    assert [f.name for f in facts.functions] == ["pick"]


def test_an_interface_declares_methods():
    source = (
        b"export interface Api {\n"
        b"  /** Fetches a URL. */\n"
        b"  fetch(url: string): Promise<string>;\n"
        b"  retry: (times: number) => void;\n"
        b"  name: string;\n"
        b"}\n"
    )
    symbols = {s.qualname: s for s in parse_script("api.ts", source).symbols}
    assert set(symbols) == {"Api", "Api.fetch", "Api.retry"}  # `name` holds data
    fetch = symbols["Api.fetch"]
    assert (fetch.kind, fetch.signature, fetch.docstring) == (
        SymbolKind.METHOD,
        "fetch(url: string): Promise<string>",
        "Fetches a URL.",
    )
    assert symbols["Api.retry"].signature == "retry: (times: number) => void"
