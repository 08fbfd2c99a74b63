"""Extraction: a codebase's files, ast facts, git history and READMEs, into the store."""

from ._files import Candidate, Discovery, discover
from ._git import git_history
from ._python import ImportResolver, parse_source
from ._run import ExtractSummary, Skipped, check_root, extract

__all__ = [
    "Candidate",
    "Discovery",
    "ExtractSummary",
    "ImportResolver",
    "Skipped",
    "check_root",
    "discover",
    "extract",
    "git_history",
    "parse_source",
]
