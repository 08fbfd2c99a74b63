"""Retrieval: does pith find the code a task needs, better than grep-like baselines?

The task set is built from the git history of real Python projects that are not pith: the task
text is a commit's message, the right answer is the non-test source ``.py`` files the commit
changed that existed before it. Merges, huge commits, release/version bumps and commits that
touch no source are skipped. For each task, pith extracts and builds the PARENT commit (facts
only, no prose) and every system ranks the files of that tree:

- ``search hits``: the files of ``pith search``'s hits, in order (the first 10 hits);
- ``search files``: the first distinct files of ``pith search``'s hits;
- ``ask``: the files of ``pith ask``'s briefing, in order (when pith has ``ask``);
- ``bm25 text``: Okapi BM25 over each file's whole text;
- ``bm25 names``: Okapi BM25 over each file's path and definition names;
- ``best per task``: not a system but the ceiling of those above: each task scored by
  whichever of them did best on it (what the commit message lets these systems find).

Reported per repository and overall: recall@5, recall@10 (share of the changed files among the
first 5 / 10 files) and MRR (1 / rank of the first changed file). Bounds (exit 1 when missed):
pith's best system is ahead of ``bm25 text`` on recall@10 in every repository, and its overall
recall@10 is >= 0.95. Also measured: ``pith search`` (and ``ask``) as a process, start to answer,
p50 <= 0.3 s.

The repositories come from bare git clones (``git clone --bare URL``) in one directory, named
``owner+name`` (optionally with the git dir in ``owner+name/repo``), e.g.::

    mkdir -p ~/mirrors && git clone --bare https://github.com/encode/httpx ~/mirrors/encode+httpx

Built stores are cached per parent commit (and per version of pith's extract/build code) in the
cache dir, so a rerun only searches.

    python benchmarks/bench_retrieval.py [--mirrors DIR] [--cache DIR] [--tasks N] [--repos a,b]

``--mirrors`` defaults to ``$PITH_BENCH_MIRRORS``; without either the benchmark says how to get
the clones and is skipped (exit 0). ``--cache`` defaults to ``$PITH_BENCH_CACHE``, else
``pith-bench-retrieval`` in the temp dir.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPOS = (
    "encode/httpx",
    "pallets/click",
    "psf/requests",
    "pallets/flask",
    "Textualize/rich",
    "fastapi/fastapi",
)
RECALL_BOUND = 0.95
CLI_BOUND = 0.3  # seconds, start to answer
MAX_CHANGED = 12  # files in a commit, tests and docs included: more is a sweep, not a task
MAX_SOURCE = 4  # changed source files
MAX_QUERY = 400  # characters of the commit message used as the task
DEPTH = 100  # ranked files kept per system
ORACLE = "best per task"  # not a system: each task scored by whichever system did best on it
NON_SOURCE_DIRS = {
    "tests",
    "test",
    "testing",
    "docs",
    "doc",
    "docs_src",
    "examples",
    "example",
    "scripts",
    "benchmarks",
    "bench",
    "tools",
    ".github",
}
NON_SOURCE_FILES = {"conftest.py", "setup.py", "noxfile.py", "tasks.py", "fabfile.py"}
SKIP_SUBJECT = re.compile(
    r"^\W*(release|releasing|version|bump|prepare|changelog|merge|revert|v?\d+\.\d+|"
    r"typo|fix typo|format|lint|pre-commit|update (the )?(copyright|year))\b",
    re.IGNORECASE,
)
TRAILER = re.compile(r"^[A-Za-z-]+: .*$", re.MULTILINE)
NOISE = re.compile(r"\(?#\d+\)?|https?://\S+")

HERE = Path(__file__).resolve().parent
# What a built store's content depends on (not how it is searched).
PITH_CODE = (
    "pith/_extract",
    "pith/_build.py",
    "pith/_store.py",
    "pith/_store/_schema.py",
    "pith/_store/_outline.py",
    "pith/_models.py",
    "pith/_tokens.py",
)


# --- tasks -------------------------------------------------------------------------------------


def is_source(path: str) -> bool:
    """A non-test, non-docs Python file of the project."""
    parts = path.split("/")
    name = parts[-1]
    return (
        name.endswith(".py")
        and not name.startswith(("test_", "."))
        and not name.endswith("_test.py")
        and name not in NON_SOURCE_FILES
        and not any(p in NON_SOURCE_DIRS or p.startswith(".") for p in parts[:-1])
    )


def task_text(message: str) -> str:
    """The commit message as a task: trailers, issue numbers and links removed, bounded."""
    text = NOISE.sub("", TRAILER.sub("", message))
    text = re.sub(r"\n{2,}", "\n", text).strip()
    if len(text) > MAX_QUERY:
        text = text[:MAX_QUERY].rsplit(None, 1)[0]
    return text


def tasks(git_dir: Path, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` tasks from the default branch, spread evenly over the newest qualifying
    commits (deterministic for a given history)."""
    log = git(
        git_dir,
        "log",
        "--no-merges",
        "--no-renames",
        "-n",
        "6000",
        "--format=%x1e%H%x1f%P%x1f%B%x1f",
        "--name-status",
        "HEAD",
    )
    found = []
    for record in log.split("\x1e")[1:]:
        sha, parents, message, changes = record.split("\x1f")
        if len(parents.split()) != 1:
            continue
        lines = [line.split("\t") for line in changes.strip().splitlines() if "\t" in line]
        subject = message.strip().splitlines()[0] if message.strip() else ""
        if not lines or len(lines) > MAX_CHANGED or SKIP_SUBJECT.match(subject):
            continue
        if len(re.findall(r"[A-Za-z]{2,}", subject)) < 3:
            continue
        if len({w for w in words(message) if len(w) > 2} - GENERIC) < 2:
            continue
        # Modified or deleted: the file exists in the parent, so it can be found there.
        source = sorted({p for s, p, *_ in lines if s[0] in "MD" and is_source(p)})
        if not 1 <= len(source) <= MAX_SOURCE:
            continue
        query = task_text(message)
        if not query:
            continue
        found.append({"sha": sha, "parent": parents.strip(), "query": query, "answer": source})
        if len(found) >= count * 8:
            break
    if len(found) <= count:
        return found
    step = len(found) / count
    return [found[int(i * step)] for i in range(count)]


def first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def git(git_dir: Path, *args: str, cwd: Path | None = None) -> str:
    command = ["git", "-c", "core.quotepath=off"]
    command += ["-C", str(cwd)] if cwd else [f"--git-dir={git_dir}"]
    result = subprocess.run([*command, *args], capture_output=True, check=True)
    return result.stdout.decode("utf-8", "replace")


# --- BM25 --------------------------------------------------------------------------------------

CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOP_WORDS = """a an and are as at be but by for from has have if in into is it its not of on or
so that the their then there these this to was were when which will with"""
# Words that say nothing of where the change is: a task needs two words besides these.
GENERIC_WORDS = """fix fixes fixed update updates updated add adds added remove removed use make
small minor misc more some code clean cleanup refactor refinements change changes test tests dev
dependencies improve improvements support handle better don now also"""
STOP, GENERIC = set(STOP_WORDS.split()), set(GENERIC_WORDS.split())


def words(text: str) -> list[str]:
    """Lowercased words; snake_case splits at ``_``, a CamelCase word also gives its parts."""
    out = []
    for word in re.findall(r"[A-Za-z][A-Za-z0-9]*|[0-9]+", text):
        low = word.lower()
        if low not in STOP:
            out.append(low)
        parts = CAMEL.findall(word)
        if len(parts) > 1:
            out += [p.lower() for p in parts if p.lower() not in STOP]
    return out


class BM25:
    """Okapi BM25 (k1 = 1.2, b = 0.75) over a few documents."""

    def __init__(self, docs: dict[str, list[str]]) -> None:
        self.tf = {name: collections.Counter(ws) for name, ws in docs.items()}
        self.length = {name: len(ws) for name, ws in docs.items()}
        self.average = sum(self.length.values()) / max(1, len(docs))
        df: collections.Counter[str] = collections.Counter()
        for counts in self.tf.values():
            df.update(counts.keys())
        n = len(docs)
        self.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}

    def rank(self, query: str, depth: int = DEPTH) -> list[str]:
        terms = [w for w in dict.fromkeys(words(query)) if w in self.idf]
        scores: dict[str, float] = {}
        for name, counts in self.tf.items():
            norm = 1.2 * (0.25 + 0.75 * self.length[name] / self.average)
            score = sum(
                self.idf[w] * counts[w] * 2.2 / (counts[w] + norm) for w in terms if w in counts
            )
            if score > 0:
                scores[name] = score
        return sorted(scores, key=lambda n: (-scores[n], n))[:depth]


def definition_names(source: str) -> list[str]:
    """The names a file defines: classes, functions and methods (by regex: any text parses)."""
    return re.findall(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", source, re.MULTILINE)


def baselines(tree: Path, query: str) -> dict[str, list[str]]:
    paths = git(tree, "ls-files", "-z", "--", "*.py", cwd=tree).split("\0")
    texts = {}
    for path in filter(None, paths):
        try:
            texts[path] = (tree / path).read_text("utf-8", "replace")
        except OSError:
            continue
    whole = BM25({p: words(p) + words(t) for p, t in texts.items()})
    names = BM25({p: words(p) + words(" ".join(definition_names(t))) for p, t in texts.items()})
    return {"bm25 text": whole.rank(query), "bm25 names": names.rank(query)}


# --- pith --------------------------------------------------------------------------------------


def pith_fingerprint() -> str:
    """Changes with pith's extract/build/store code: a cached store is rebuilt after it."""
    digest = hashlib.sha256()
    root = HERE.parent
    for name in PITH_CODE:
        for path in (
            sorted((root / name).rglob("*.py")) if (root / name).is_dir() else [root / name]
        ):
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def run_pith(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITH_")}
    command = [sys.executable, "-m", "pith", "--data-dir", str(data_dir), "-q", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def prepare(clone: Path, cache: Path, task: dict[str, Any], fingerprint: str) -> Path | None:
    """The data dir of pith built on the task's parent commit, and the baselines' rankings
    for its query (``baselines.json``); cached. None when pith could not build it."""
    data_dir = cache / f"{task['parent'][:12]}-{fingerprint}"
    ranked = data_dir / "baselines.json"
    done = data_dir / "built"
    if done.exists() and ranked.exists():
        cached = json.loads(ranked.read_text())
        if task["sha"] in cached:
            return data_dir
    git(clone, "checkout", "-q", "--detach", "-f", task["parent"], cwd=clone)
    git(clone, "clean", "-qfdx", cwd=clone)
    if not done.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        for step in (("extract", str(clone)), ("build",)):
            result = run_pith(data_dir, *step)
            if result.returncode != 0:
                print(f"  pith {step[0]} failed on {task['parent'][:12]}: {result.stderr.strip()}")
                return None
        done.touch()
    cached = json.loads(ranked.read_text()) if ranked.exists() else {}
    cached[task["sha"]] = baselines(clone, task["query"])
    ranked.write_text(json.dumps(cached))
    return data_dir


def file_of(node_id: str) -> str | None:
    """The file a node is in (None for a module: a directory)."""
    path = node_id.split(":", 1)[0]
    return path if path.endswith(".py") else None


def pith_rankings(data_dir: Path, query: str) -> dict[str, list[str]]:
    """Each pith system's files, in order (``search hits`` keeps one entry per hit)."""
    from pith._store import Store
    from pith._wiki._read import WikiReader

    out: dict[str, list[str]] = {}
    with Store.open(data_dir / "pith.db", read_only=True) as store:
        reader = WikiReader(store)
        hits = reader.search(query, DEPTH)
        out["search hits"] = [file_of(h.id) or "" for h in hits]
        out["search files"] = distinct(f for f in out["search hits"] if f)
        ask = getattr(reader, "ask", None)
        if ask is not None:
            out["ask"] = distinct(ask(query).file_ids())
    return out


def place(ranked: Sequence[str], item: str) -> str:
    """The 1-based rank of ``item`` in ``ranked``, "-" when it is not there."""
    return str(ranked.index(item) + 1) if item in ranked else "-"


def distinct(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- metrics -----------------------------------------------------------------------------------


def score(ranked: Sequence[str], answer: Sequence[str]) -> dict[str, float]:
    right = set(answer)
    first = next((i for i, f in enumerate(ranked) if f in right), None)
    return {
        "r@5": len(right & set(ranked[:5])) / len(right),
        "r@10": len(right & set(ranked[:10])) / len(right),
        "mrr": 0.0 if first is None else 1 / (first + 1),
    }


def mean(rows: list[dict[str, float]], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows) if rows else 0.0


def table(title: str, results: dict[str, list[dict[str, float]]]) -> None:
    n = max((len(rows) for rows in results.values()), default=0)
    print(f"{title} ({n} tasks)")
    print(f"  {'system':<14} {'recall@5':>9} {'recall@10':>10} {'MRR':>6}")
    for system, rows in results.items():
        r5, r10, mrr = mean(rows, "r@5"), mean(rows, "r@10"), mean(rows, "mrr")
        print(f"  {system:<14} {r5:9.3f} {r10:10.3f} {mrr:6.3f}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cli_latency(data_dir: Path, queries: list[str], command: str) -> tuple[float, float, float]:
    """(p50 wall time, best wall time, p50 CPU time) of ``pith COMMAND QUERY`` as a process,
    start to answer. The CPU time (user + system) is what the wall time would be on an idle
    machine: on a loaded one the wall time also counts the waits for a core."""
    walls, cpus = [], []
    for query in queries:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = run_pith(data_dir, command, query)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if result.returncode != 0:
            raise SystemExit(f"bench_retrieval: pith {command} failed: {result.stderr.strip()}")
    return percentile(walls, 0.5), min(walls), percentile(cpus, 0.5)


# --- main --------------------------------------------------------------------------------------


def find_git_dir(mirrors: Path, repo: str) -> Path | None:
    owner, name = repo.split("/")
    for candidate in (
        mirrors / f"{owner}+{name}" / "repo",
        mirrors / f"{owner}+{name}",
        mirrors / name,
        mirrors / f"{name}.git",
    ):
        if candidate.is_dir():
            probe = subprocess.run(
                ["git", f"--git-dir={candidate}", "rev-parse", "--verify", "-q", "HEAD"],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                return candidate
    return None


def how_to_get(mirrors: str, repos: Iterable[str]) -> str:
    lines = [
        f"  git clone --bare https://github.com/{r} {mirrors}/{r.replace('/', '+')}" for r in repos
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", default=os.environ.get("PITH_BENCH_MIRRORS"))
    parser.add_argument(
        "--cache",
        default=os.environ.get("PITH_BENCH_CACHE")
        or os.path.join(tempfile.gettempdir(), "pith-bench-retrieval"),
    )
    parser.add_argument("--tasks", type=int, default=35, help="tasks per repository")
    parser.add_argument("--repos", default=",".join(REPOS), help="owner/name,...")
    parser.add_argument(
        "--show",
        action="store_true",
        help="print each task's misses: the changed files not in pith's top 10, with their "
        "rank in pith's list and in bm25 text's (- when not there), and pith's top 5",
    )
    args = parser.parse_args()
    repos = [r.strip() for r in args.repos.split(",") if r.strip()]
    if not args.mirrors:
        print(
            "bench_retrieval: skipped: no git mirrors. Set PITH_BENCH_MIRRORS=DIR (or pass "
            "--mirrors DIR) to a directory holding bare clones:\n" + how_to_get("DIR", repos)
        )
        return 0
    mirrors = Path(args.mirrors).expanduser()
    found = {r: find_git_dir(mirrors, r) for r in repos}
    missing = [r for r, d in found.items() if d is None]
    if missing:
        print(
            f"bench_retrieval: {len(missing)} of the repositories are not in {mirrors}; "
            "get them with:\n" + how_to_get(str(mirrors), missing),
            file=sys.stderr,
        )
        if len(missing) == len(repos):
            return 2
    fingerprint = pith_fingerprint()
    cache_root = Path(args.cache)
    overall: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
    per_repo: dict[str, dict[str, list[dict[str, float]]]] = {}
    largest: tuple[int, Path | None, list[str]] = (0, None, [])
    started = time.perf_counter()
    for repo, git_dir in found.items():
        if git_dir is None:
            continue
        cache = cache_root / repo.replace("/", "+")
        clone = cache / "clone"
        if not (clone / ".git").is_dir():
            shutil.rmtree(clone, ignore_errors=True)
            cache.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "clone", "-q", "--no-checkout", str(git_dir), str(clone)], check=True
            )
        results: dict[str, list[dict[str, float]]] = collections.defaultdict(list)
        chosen = tasks(git_dir, args.tasks)
        for task in chosen:
            data_dir = prepare(clone, cache, task, fingerprint)
            if data_dir is None:
                continue
            rankings = json.loads((data_dir / "baselines.json").read_text())[task["sha"]]
            rankings = pith_rankings(data_dir, task["query"]) | rankings
            rows = {system: score(ranked, task["answer"]) for system, ranked in rankings.items()}
            # The ceiling of the systems above: for each task, the best any of them did.
            rows[ORACLE] = {
                key: max(row[key] for row in rows.values()) for key in ("r@5", "r@10", "mrr")
            }
            for system, row in rows.items():
                results[system].append(row)
                overall[system].append(row)
            if args.show:
                ours = rankings.get("ask", rankings["search files"])
                best = ours[:10]
                missed = [f for f in task["answer"] if f not in best]
                if missed:
                    print(f"  {repo} {task['sha'][:8]} {first_line(task['query'])[:70]!r}")
                    theirs = rankings["bm25 text"]
                    ranks = ", ".join(
                        f"{f} (#{place(ours, f)}, bm25 text #{place(theirs, f)})" for f in missed
                    )
                    print(f"    missed {ranks}; got {best[:5]}")
        per_repo[repo] = results
        table(repo, results)
        size = sum(1 for _ in (clone).rglob("*.py"))
        if size > largest[0] and chosen:
            last = cache / f"{chosen[-1]['parent'][:12]}-{fingerprint}"
            largest = (size, last, [first_line(t["query"]) for t in chosen[:7]])
    elapsed = time.perf_counter() - started
    table("overall", overall)
    print(f"  ({elapsed:.0f} s, cache {cache_root})")

    pith_systems = [s for s in ("ask", "search files") if s in overall]
    best = pith_systems[0]
    failures = []
    for repo, results in per_repo.items():
        ours, theirs = mean(results[best], "r@10"), mean(results["bm25 text"], "r@10")
        if ours <= theirs:
            failures.append(f"{repo}: {best} recall@10 {ours:.3f} <= bm25 text {theirs:.3f}")
    recall = mean(overall[best], "r@10")
    verdict = "OK" if recall >= RECALL_BOUND else "OVER"
    print(f"{best} overall recall@10 {recall:.3f}  (bound >= {RECALL_BOUND})  {verdict}")
    if recall < RECALL_BOUND:
        failures.append(f"overall recall@10 {recall:.3f} < {RECALL_BOUND}")
    if largest[1] is not None:
        for command in ("search", "ask") if "ask" in overall else ("search",):
            p50, best, cpu = cli_latency(largest[1], largest[2], command)
            ok = p50 <= CLI_BOUND
            print(
                f"pith {command} as a process, p50 {p50:.3f} s on {largest[1].parent.name}  "
                f"(bound <= {CLI_BOUND} s)  {'OK' if ok else 'OVER'}; best {best:.3f} s, "
                f"CPU p50 {cpu:.3f} s"
            )
            if not ok:
                failures.append(f"pith {command} p50 {p50:.3f} s > {CLI_BOUND} s")
    for failure in failures:
        print(f"OVER: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
