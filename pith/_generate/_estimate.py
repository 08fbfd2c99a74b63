"""What a generation would cost, before any call is made: tokens from the real prompts, and a
price only where the model's list price is known (never an invented number)."""

from __future__ import annotations

from pathlib import PurePosixPath

import attrs

from .._roles import WORKSPACE_DIRS, language_of
from .._store import Store
from ._prompt_builder import PromptBuilder
from ._prompts import estimate_prompt_tokens
from ._selection import Selection

__all__ = [
    "COMPLETION_TOKENS_PER_NODE",
    "PRICES_PER_MILLION",
    "DirectoryCost",
    "Estimate",
    "estimate",
]

# A prose reply (summary, purpose, a few gotchas and lists) is typically 250-500 tokens.
COMPLETION_TOKENS_PER_NODE = 400

# USD per million (prompt, completion) tokens: providers' list prices, checked 2025. A model not
# listed here gets no price: the estimate says "unknown" rather than guess.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4.1": (2.00, 8.00),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "openai/gpt-4.1-nano": (0.10, 0.40),
    "anthropic/claude-3.5-haiku": (0.80, 4.00),
    "anthropic/claude-3.5-sonnet": (3.00, 15.00),
    "anthropic/claude-sonnet-4": (3.00, 15.00),
    "google/gemini-2.0-flash-001": (0.10, 0.40),
    "google/gemini-2.5-flash": (0.30, 2.50),
    "google/gemini-2.5-pro": (1.25, 10.00),
    "deepseek/deepseek-chat": (0.27, 1.10),
    "meta-llama/llama-3.1-8b-instruct": (0.02, 0.05),
}


@attrs.frozen
class DirectoryCost:
    """The share of an estimate under one top-level directory (``"(root)"``: the root's own
    files and the root package)."""

    directory: str
    nodes: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None


@attrs.frozen
class Estimate:
    """Tokens and cost of writing a selection. ``cost`` is None when the price is unknown."""

    model: str
    nodes: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    by_directory: tuple[DirectoryCost, ...] = ()  # most prompt tokens first


def _price(model: str) -> tuple[float, float] | None:
    if model in PRICES_PER_MILLION:
        return PRICES_PER_MILLION[model]
    # OpenAI's own API names models without the "openai/" prefix OpenRouter uses.
    return PRICES_PER_MILLION.get(f"openai/{model}")


def estimate(store: Store, selection: Selection, model: str) -> Estimate:
    """Build every selected node's prompt (blocking) and add up the tokens.

    Module prompts are built with the summaries the store has now; those written during the run
    would make them somewhat longer.
    """
    prompts = PromptBuilder(store)
    price = _price(model)
    by_directory: dict[str, list[int]] = {}  # directory -> [nodes, prompt tokens]
    for node in selection.nodes:
        share = by_directory.setdefault(_top_directory(node.path), [0, 0])
        share[0] += 1
        try:
            messages = prompts.prompt(node).messages
        except LookupError:
            continue  # the run will report this node as failed, at no cost
        share[1] += estimate_prompt_tokens(messages)
    directories = tuple(
        DirectoryCost(
            directory,
            nodes,
            tokens,
            COMPLETION_TOKENS_PER_NODE * nodes,
            _cost(price, tokens, COMPLETION_TOKENS_PER_NODE * nodes),
        )
        for directory, (nodes, tokens) in sorted(
            by_directory.items(), key=lambda item: (-item[1][1], item[0])
        )
    )
    prompt_tokens = sum(d.prompt_tokens for d in directories)
    completion_tokens = COMPLETION_TOKENS_PER_NODE * len(selection)
    return Estimate(
        model,
        len(selection),
        prompt_tokens,
        completion_tokens,
        _cost(price, prompt_tokens, completion_tokens),
        directories,
    )


def _cost(price: tuple[float, float] | None, prompt: int, completion: int) -> float | None:
    return None if price is None else (prompt * price[0] + completion * price[1]) / 1_000_000


def _top_directory(path: str) -> str:
    """What a node's cost is counted under: its top directory, a monorepo's workspace package
    (``packages/zod/``), or "(root)" for the files at the top."""
    parts = PurePosixPath(path).parts
    dirs = parts[:-1] if language_of(path) else parts
    if not dirs:
        return "(root)"
    workspace = len(dirs) > 1 and dirs[0].lower() in WORKSPACE_DIRS
    return "/".join(dirs[: 2 if workspace else 1]) + "/"
