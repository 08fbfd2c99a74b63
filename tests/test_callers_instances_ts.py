"""Uses through an instance in TypeScript and JavaScript: ``const c = new Client()`` then
``c.send()`` is a use of ``Client.send``, as for Python (`tests/test_callers_instances.py`);
so are a parameter or variable typed ``Client``, and ``this.client.send()`` on a field that
holds one, and ``new Client().send()``. What a function returns is not guessed."""

from __future__ import annotations

from pathlib import Path

from projects import write_tree

from pith._build import build
from pith._extract import extract
from pith._store import Store
from pith._wiki._read import WikiReader

PROJECT: dict[str, str | bytes] = {
    "src/client.ts": """\
        export class Base {
          mount(path: string): string { return path; }
        }
        export class Client extends Base {
          send(path: string): string { return path; }
        }
        export function make(): Client { return new Client(); }
        """,
    "src/index.ts": 'export { Client, make } from "./client";\n',
    "src/store.ts": """\
        export default class Store {
          get(key: string): string { return key; }
        }
        """,
    "src/app.ts": """\
        import { Client, make } from "./index";
        import Store from "./store";
        export function serve(): string {
          const client = new Client();
          client.send("/a");
          const other = make();
          other.send("/b");
          return client.mount("/m");
        }
        export function handle(c: Client | undefined, store?: Store): void {
          c?.send("/c");
          store.get("k");
        }
        export class Service {
          private backup = new Client();
          constructor(private readonly client: Client) {}
          run(): void {
            this.client.send("/d");
            this.backup.send("/e");
          }
        }
        """,
    "src/config.ts": """\
        export interface Config { dataDir: string }
        export const DEFAULTS: Config = { dataDir: "." };
        export function dir(): string { return DEFAULTS.dataDir; }
        """,
    "src/api.ts": """\
        export interface Api {
          /** Fetches a URL. */
          fetch(url: string): string;
          retry: (times: number) => void;
          name: string;
        }
        """,
    "src/remote.ts": """\
        import type { Api } from "./api";
        export function call(api: Api): string {
          return api.fetch("/i");
        }
        """,
    "src/legacy.js": """\
        const { Client } = require("./client");
        class Job {
          constructor() { this.client = new Client(); }
          run() { return this.client.send("/f"); }
        }
        function go(client) { return client.send("/g"); }
        module.exports = { Job, go };
        """,
    "src/app.test.ts": """\
        import { Client } from "./client";
        const client = new Client();
        client.send("/x");
        test("shadowed", () => {
          let c = new Client();
          c = 3 as any;
          c.send("/y");
        });
        new Client().send("/z");
        """,
}


def _uses(answer: dict[str, object], key: str) -> list[tuple[object, object]]:
    return [(u["file"], u["line"]) for u in answer[key]]  # type: ignore[attr-defined]


def test_uses_through_instances_in_scripts(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "web", PROJECT)
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        reader = WikiReader(store)
        send = reader.callers("src/client.ts:Client.send").to_json()
        assert _uses(send, "callers") == [
            ("src/app.ts", 5),  # a local instance, the class through a re-export
            # app.ts:7 (`make()`'s result) is not guessed
            ("src/app.ts", 11),  # a parameter typed `Client | undefined`
            ("src/app.ts", 18),  # a constructor's parameter property
            ("src/app.ts", 19),  # a field initialised with `new`
            ("src/legacy.js", 4),  # JavaScript: `this.client = new Client()`
            # legacy.js:6: an untyped parameter is not guessed
        ]
        # A module-level instance in a test; a name given two things in one scope is not
        # guessed.
        assert _uses(send, "tests") == [("src/app.test.ts", 3), ("src/app.test.ts", 9)]  # and made
        # An inherited method, through the instance.
        assert _uses(reader.callers("src/client.ts:Base.mount").to_json(), "callers") == [
            ("src/app.ts", 8)
        ]
        # A constant typed with an interface is still used as itself.
        assert _uses(reader.callers("src/config.ts:DEFAULTS").to_json(), "callers") == [
            ("src/config.ts", 3)
        ]
        # A method an interface declares, through a parameter of that type.
        assert _uses(reader.callers("src/api.ts:Api.fetch").to_json(), "callers") == [
            ("src/remote.ts", 3)
        ]
        # A default-exported class, through an optional parameter typed with it.
        assert _uses(reader.callers("src/store.ts:Store.get").to_json(), "callers") == [
            ("src/app.ts", 12)
        ]


def test_a_script_package_says_its_index_docstring(tmp_path: Path) -> None:
    from pith._wiki._views import node_page, node_view

    root = write_tree(
        tmp_path / "web",
        {
            "src/index.ts": (
                '/**\n * @module\n * The web client.\n */\nexport { send } from "./send";\n'
            ),
            "src/send.ts": "export function send(): number { return 1; }\n",
        },
    )
    with Store.open(tmp_path / "pith.db") as store:
        extract(root, store, workers=1)
        build(store)
        assert node_view(store, "src", with_source=True)["source"] == {
            "docstring": "The web client."
        }
        # A briefing and a page write a script's definitions as the script does.
        briefing = WikiReader(store).ask("web client send")
        index = next(f for f in briefing.files if f["id"] == "src/index.ts")
        assert index["summary"] == "The web client."  # its `@module` tag left out
        sent = next(f for f in briefing.files if f["id"] == "src/send.ts")
        assert sent["symbols"][0]["signature"] == "function send(): number"
        page = node_page(store, "src/send.ts:send")
        assert "```typescript\nfunction send(): number\n```" in page
