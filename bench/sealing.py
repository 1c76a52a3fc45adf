"""The secret of a sealed run, and the world seed each episode's world is built from.

In a sealed run the world of episode seed ``n`` is built from ``world_seed(secret, n)``: an HMAC
of a random run secret and the episode seed. An agent told the episode seed, or one that reads
the harness's command line, still cannot rebuild the world without the secret, which is written
to the run folder only when the run ends (and ``--secret`` reproduces a run exactly). An
unsealed run has no secret and builds the world of seed ``n`` from ``n`` itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

__all__ = ["SECRET_BYTES", "new_secret", "parse_secret", "world_seed"]

SECRET_BYTES = 32
_HEX = re.compile(r"[0-9a-f]{64}")


def new_secret() -> str:
    """A fresh run secret: 32 random bytes as 64 lowercase hex digits."""
    return secrets.token_hex(SECRET_BYTES)


def parse_secret(text: str) -> str:
    """``text`` as a run secret, or ValueError saying what a secret looks like."""
    secret = text.strip().lower()
    if not _HEX.fullmatch(secret):
        raise ValueError(f"a run secret is {2 * SECRET_BYTES} hex digits (as run.json records it), "
                         f"got {len(text)} characters")
    return secret


def world_seed(secret: str | None, seed: int) -> int:
    """The seed the world of episode ``seed`` is built from: ``seed`` itself when unsealed."""
    if secret is None:
        return seed
    digest = hmac.new(bytes.fromhex(secret), f"blastradius-world:{seed}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")
