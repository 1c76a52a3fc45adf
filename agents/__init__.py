"""The contestants: the agents that blastradius puts in charge of its simulated cloud.

This package will hold the ``Agent`` protocol (``reset(briefing)``, ``act(observation)``),
the loader that resolves an agent spec, the reference baselines, and the adapters for LLM and
subprocess agents. An agent sees only what a real operator would: observations, tool schemas
and the task briefing; never the ledger, the ground truth or the scores.
"""

__all__: list[str] = []
