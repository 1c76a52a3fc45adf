"""The quick patterns prose is read with find exactly what the plain patterns find."""

from __future__ import annotations

import random
import re

from blastradius.envs.scoring.patterns import AnyCase, folded, words_pattern

WORDS = {"roll", "rolled", "rolled back", "roll back", "rollback", "re-synced", "resync", "push", "pushed",
         "s", "snapshot", "snapshotted", "took out", "took", "scaled down", "wipe", "wiped", "x"}
PIECES = [*WORDS, "rolled backup", "rollbacks", "PUSHED", "Rolled Back", "ſnapshot", "\u212a", "pushed-", "-wipe",
          "took  out", "Took Out", "re-synced.", "é", "snapshotté", "x2", "(push)", "ROLL", "rolLED back", ",", " "]


def _plain(words: set[str]) -> re.Pattern[str]:
    """The alternation the trie stands for: longest first, ASCII case folding."""
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(word) for word in ordered) + r")\b", re.IGNORECASE | re.ASCII)


def test_the_trie_finds_the_longest_word_where_the_alternation_does() -> None:
    trie, plain = words_pattern(WORDS), _plain(WORDS)
    rng = random.Random(7)
    for _ in range(3000):
        text = " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        found = [(m.start(), m.end()) for m in trie.finditer(folded(text))]
        assert found == [(m.start(), m.end()) for m in plain.finditer(text)], text


def test_folding_keeps_every_offset_and_touches_ascii_letters_only() -> None:
    for text in ("Rolled BACK", "ſnapshot \u212aelvin É", "İstanbul pushed"):
        assert len(folded(text)) == len(text)
    assert folded("ſ \u212a É PUSH") == "ſ \u212a É push"


def test_a_lower_case_pattern_matches_in_any_case_as_ignorecase_does() -> None:
    pattern = r"\b(?:nothing else|no other)\b.{0,20}\b(?:affected|touched)\b"
    quick, plain = AnyCase(pattern), re.compile(pattern, re.IGNORECASE)
    for text in ("Nothing else was affected", "NO OTHER resource touched", "nothing ELSE touched.",
                 "No other thing (é) affected", "Nothing elſe affected", "nothing else was \u212aept", "nothing"):
        quick_match, plain_match = quick.search(text), plain.search(text)
        assert (quick_match and quick_match.span()) == (plain_match and plain_match.span()), text
