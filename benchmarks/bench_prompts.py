"""What the prompts of a real codebase are made of: size, and how much of it is code.

Builds the prompt of every node `pith generate` would write (source code, the default) and
prints the distribution of prompt sizes, the share of characters that are code (inside fences:
a small file whole, a definition's source, code snippets) against the share that is the
definitions list, and how many prompts had to leave code snippets out.

Bound: in the file prompts, code is at least as large a share as the definitions list (the
model describes code better from code than from signatures).

Usage: python benchmarks/bench_prompts.py [PATH]   (PATH: default the installed pydantic, whose
signatures carry long ``Annotated[..., Field(...)]`` metadata like fastapi's)
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

from pith._build import build
from pith._extract import extract
from pith._generate._prompt_builder import PromptBuilder
from pith._generate._selection import select_nodes
from pith._models import NodeType
from pith._store import Store

_FENCED = re.compile(r"```python\n.*?\n```", re.S)
_DEFINITIONS = re.compile(r"^Definitions \(line range: signature\):\n.*?(?=\n\n|\Z)", re.M | re.S)
_LEFT_OUT_SNIPPETS = re.compile(r"(\d+) of (\d+) code snippets")


def _default_path() -> Path:
    import pydantic

    return Path(pydantic.__file__).parent


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else _default_path()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = Store.open(Path(tmp) / "pith.db")
        extract(root, store, workers=1)
        build(store)
        selection = select_nodes(store)
        builder = PromptBuilder(store)
        sizes: dict[NodeType, list[int]] = {t: [] for t in NodeType}
        code = definitions = total = 0
        file_code = file_definitions = 0
        cut = 0
        for node in selection.nodes:
            try:
                text = builder.prompt(node).messages[-1]["content"]
            except LookupError:
                continue
            sizes[node.type].append(len(text))
            total += len(text)
            in_code = sum(len(m) for m in _FENCED.findall(text))
            in_definitions = sum(len(m) for m in _DEFINITIONS.findall(text))
            code += in_code
            definitions += in_definitions
            if node.type is NodeType.FILE:
                file_code += in_code
                file_definitions += in_definitions
            match = _LEFT_OUT_SNIPPETS.search(text)
            cut += bool(match)
        store.close()
    print(f"codebase: {root} ({len(selection)} nodes to write)")
    for node_type, values in sizes.items():
        if not values:
            continue
        values.sort()
        p90 = values[int(0.9 * (len(values) - 1))]
        print(
            f"  {node_type.value:<8} {len(values):>5} prompts, characters: median "
            f"{statistics.median(values):,.0f}, p90 {p90:,}, max {values[-1]:,}"
        )
    print(
        f"all prompts: {total:,} characters; code {code / total:.0%}, definitions lists "
        f"{definitions / total:.0%}; {cut} prompts left code snippets out"
    )
    share = file_code / max(1, file_code + file_definitions)
    print(f"file prompts: code is {share:.0%} of code + definitions (bound: >= 50%)")
    return 0 if share >= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
