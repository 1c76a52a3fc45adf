"""What a model's tokens cost: a price table in US dollars per million tokens, and the cost.

`PRICES` holds OpenAI list prices for a few models (standard tier, no cached-input or batch
discount; checked in 2026 on platform.openai.com/docs/pricing). Prices change and every other
provider or local model is missing, so the LLM agent takes a ``prices`` argument that extends and
overrides the table: a mapping, or the path of a JSON file holding one, of model name to
``{"input": USD, "output": USD}`` or ``[input, output]`` (per million tokens), e.g.
``--agent-kwarg prices='{"qwen2.5:7b": [0, 0]}'``.

A model name matches its own entry, or else the longest entry it extends with a dash (a dated
snapshot such as ``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``). A model with no price
has an unknown cost (None), never zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import AgentSpecError

__all__ = ["PRICES", "Price", "cost_usd", "price_of", "price_table"]


@dataclass(frozen=True)
class Price:
    """US dollars per million input (prompt) and output (completion) tokens."""

    input: float
    output: float

    def __post_init__(self) -> None:
        for name in ("input", "output"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise AgentSpecError(f"a price's {name} must be a non-negative number of USD per million "
                                     f"tokens, got {value!r}")


PRICES: Mapping[str, Price] = MappingProxyType({
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
})


def price_table(extra: Mapping[str, Any] | str | Path | None) -> dict[str, Price]:
    """`PRICES` extended and overridden by ``extra`` (a mapping, or a JSON file's path).

    Raises:
        AgentSpecError: an unreadable file or an entry that is not a price.
    """
    table = dict(PRICES)
    if extra is None:
        return table
    if isinstance(extra, (str, Path)):
        try:
            extra = json.loads(Path(extra).read_text())
        except (OSError, ValueError) as exc:
            raise AgentSpecError(f"prices {str(extra)!r}: not a readable JSON file: {exc}") from None
    if not isinstance(extra, Mapping):
        raise AgentSpecError(f"prices must map model names to prices, got {type(extra).__name__}")
    for model, entry in extra.items():
        if isinstance(entry, Mapping) and set(entry) == {"input", "output"}:
            table[str(model)] = Price(entry["input"], entry["output"])
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            table[str(model)] = Price(entry[0], entry[1])
        else:
            raise AgentSpecError(f"price of {model!r}: expected {{\"input\": USD, \"output\": USD}} or "
                                 f"[input, output] per million tokens, got {entry!r}")
    return table


def price_of(model: str, table: Mapping[str, Price]) -> Price | None:
    """The model's price: its own entry, or the longest entry it extends with a dash."""
    if model in table:
        return table[model]
    stems = [name for name in table if model.startswith(name + "-")]
    return table[max(stems, key=len)] if stems else None


def cost_usd(price: Price | None, tokens_in: int, tokens_out: int) -> float | None:
    """The cost of the tokens in US dollars (6 decimals), or None when the price is unknown."""
    if price is None:
        return None
    return round((tokens_in * price.input + tokens_out * price.output) / 1_000_000, 6)
