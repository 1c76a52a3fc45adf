"""Patterns that prose is read with, made to be quick on a benchmark's thousands of reports.

Python's `re` tries an alternation word by word at every position of a text, and a pattern
matched in any case tries each letter's other cases: `words_pattern` makes a word list a trie,
and `AnyCase` matches a lower-case pattern against lower-cased ASCII text. Both find exactly
what the plain pattern finds.
"""

from __future__ import annotations

import re
from typing import TypeAlias

__all__ = ["AnyCase", "folded", "words_pattern"]


class AnyCase:
    """A pattern written in lower case, matched in any case. Text in ASCII (a report in English)
    is matched lower-cased by a case-sensitive twin, the same match: matching in any case tries
    each letter's other cases, and rejects a branch later than at its first letter."""

    def __init__(self, pattern: str) -> None:
        self.any_case = re.compile(pattern, re.IGNORECASE)
        self.lower = re.compile(pattern)

    def search(self, text: str) -> re.Match[str] | None:
        return self.lower.search(text.lower()) if text.isascii() else self.any_case.search(text)


_Trie: TypeAlias = dict[str, "_Trie"]  # a character -> the words' rest; "" marks where a word ends


def words_pattern(words: set[str]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word, longest first, in text `folded` as the words are.

    A trie, not a list of words: an alternation of 300 words is tried word by word at every
    position of a text, a trie's branches differ by their first character and fail at once. Its
    longer branches are tried before a word ends there, so the longest word that a word boundary
    follows still wins. ASCII case folding only: with Unicode's, "ſ" would match "s" and name no
    word of the table."""
    tree: _Trie = {}
    for word in words:
        node = tree
        for char in folded(word):
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(r"\b" + _branches(tree) + r"\b", re.ASCII)


def _branches(node: _Trie) -> str:
    """The regex of a trie's node: each branch, then (optionally) the word that ends there."""
    branches = [re.escape(char) + _branches(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    if len(branches) == 1 and "" not in node:
        return branches[0]
    return "(?:" + "|".join(branches) + ")" + ("?" if "" in node else "")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def folded(text: str) -> str:
    """``text`` with ASCII letters in lower case, as the verbs' tries match it: every offset kept."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
