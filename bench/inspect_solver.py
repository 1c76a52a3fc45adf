"""The Inspect AI solver that plays one blastradius episode per sample, and the env's tools as
Inspect tools (`blastradius.bench.inspect_task` is the task around them).

The episode is a `DrivenEpisode`: whatever model Inspect drives, the episode is played by the
harness's own `run_episode` and recorded as a run folder, exactly as ``blastradius run``
records one (kind ``inspect``, named ``inspect:<model>``), so `blastradius leaderboard` pools
it with any other run and `blastradius verify` replays it. Inspect's epochs are its trials: the
episode of epoch n is trial n - 1, as ``blastradius run --trials`` numbers them.

The conversation is the LLM agent's (`blastradius.agents.llm`): its system prompt, the briefing
as the first user message, one tool per step. Each tool is a `ToolDef` built from the env's
JSON schema and runs `DrivenEpisode.step` on a worker thread, so samples run at once without
blocking Inspect's event loop. The model's loop ends when the episode does (``submit_report``,
``escalate`` or the env's step budget). A reply without a tool call is answered once with the
LLM agent's nudge; a second one in a row ends the episode with `DrivenEpisode.close`, recorded
as an ``error`` and scored as it stands, as is an episode Inspect stops (a limit, an error, a
cancellation). Every tool call is one step of the episode: a call Inspect refuses before
running it (arguments that do not parse or fit the schema, an unknown tool) is still played,
so the env records the agent's mistake and spends a step on it, as it does for the LLM agent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
from inspect_ai.log._samples import sample_active
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ModelOutput,
    execute_tools,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import ToolCall, ToolDef, ToolParams

from ..agents.base import Action
from ..agents.llm import NUDGE, ONE_CALL_PER_STEP, SYSTEM_PROMPT
from .driven import DrivenEpisode, EpisodeOver

__all__ = ["RUN_FOLDER", "RUNS_FOLDER_NAME", "episode_tools", "play_episode"]

RUN_FOLDER = "blastradius:run_folder"
"""The sample's store key holding the episode's run folder, where the scorer reads its record."""

RUNS_FOLDER_NAME = "blastradius-runs"
"""The folder, beside Inspect's logs (or in the working directory), holding the run folders."""


def episode_tools(episode: DrivenEpisode, schemas: Sequence[dict[str, Any]]) -> list[ToolDef]:
    """The env's tools (OpenAI function schemas, as the briefing lists them) as Inspect tools
    that play ``episode``. A tool's result is the env's observation, never cut by Inspect (the
    env bounds its observations itself)."""
    return [_tool(episode, schema["function"]) for schema in schemas]


def _tool(episode: DrivenEpisode, function: dict[str, Any]) -> ToolDef:
    name = str(function["name"])

    async def call(**arguments: Any) -> str:
        return await anyio.to_thread.run_sync(_step, episode, {"name": name, "arguments": arguments})

    return ToolDef(call, name=name, description=str(function.get("description", "")),
                   parameters=ToolParams.model_validate(function["parameters"]), max_output=0)


def _step(episode: DrivenEpisode, action: Action) -> str:
    """One step's observation; after the end, the message saying how the episode ended."""
    try:
        return episode.step(action).observation
    except EpisodeOver as over:
        return str(over)


@solver
def play_episode(sealed: bool = False, size: int | None = None, chaos: int | None = None,
                 step_timeout: float | None = None, output_dir: str | None = None) -> Solver:
    """Play the sample's episode (its metadata: ``family``, ``difficulty``, ``seed``) with the
    model being evaluated; see the module docstring. ``output_dir`` holds the run folders (None:
    `RUNS_FOLDER_NAME` beside Inspect's log, or in the working directory when the log is not a
    local file); the other arguments are `DrivenEpisode`'s (None: its defaults)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        options: dict[str, Any] = {name: value for name, value in
                                   (("size", size), ("chaos", chaos), ("step_timeout", step_timeout))
                                   if value is not None}
        talk = _Talk(state)
        episode = DrivenEpisode(
            state.metadata["family"], state.metadata["seed"], _runs_folder(output_dir),
            f"inspect:{state.model}", "inspect", Path(__file__), difficulty=state.metadata["difficulty"],
            sealed=sealed, argv=("inspect", "eval", "blastradius/suite"), trial=state.epoch - 1,
            conversation=talk, **options)
        try:
            opening = await anyio.to_thread.run_sync(episode.start)
        except EpisodeOver:  # the env could not build the episode: its record says why
            return _kept(state, episode)
        _kept(state, episode)
        briefing = opening.briefing.told()  # the task and its step budget, as the LLM agent tells them
        if not opening.briefing.text.startswith(opening.observation):  # the env's first observation is the task
            briefing = f"{briefing}\n\n{opening.observation}"
        state.messages = [ChatMessageSystem(content=SYSTEM_PROMPT), ChatMessageUser(content=briefing)]
        state.tools = episode_tools(episode, opening.briefing.tools)
        reason = "Inspect stopped the sample before the episode ended"
        try:
            reason = await _converse(state, generate, episode, opening.max_steps, talk)
        except BaseException as exc:
            reason = f"Inspect stopped the sample before the episode ended: {type(exc).__name__}: {exc}"
            raise
        finally:
            with anyio.CancelScope(shield=True):  # even a cancelled sample leaves its episode recorded
                await anyio.to_thread.run_sync(episode.close, reason)
        return state

    return solve


async def _converse(state: TaskState, generate: Generate, episode: DrivenEpisode, max_steps: int,
                    talk: _Talk) -> str:
    """Let the model call tools until the episode ends; return the reason to close it if it has
    not (the model stopped calling tools, or its tool calls are spent)."""
    nudged = False
    calls = 0
    while not episode.done:
        if calls >= max_steps:  # only calls that never reached the env (an approver refused them) get here
            return f"the model made its {max_steps} tool calls, the step budget, and the episode has not ended"
        await generate(state, tool_calls="none")  # appends the reply to the state's messages
        talk.replied(state.output)
        if state.completed:
            return "Inspect ended the sample (a limit was reached) before the episode ended"
        message = state.output.message
        if not message.tool_calls:
            if nudged:
                return "the model stopped calling tools (two replies in a row without a tool call)"
            nudged = True
            state.messages.append(ChatMessageUser(content=NUDGE))
            continue
        nudged = False
        calls += 1
        first, *others = message.tool_calls
        # As the LLM agent does: the first call of a reply is the step, each other one is answered.
        result = await execute_tools([*state.messages[:-1], message.model_copy(update={"tool_calls": [first]})],
                                     state.tools)
        state.messages.extend(await _played(result.messages, first, episode))
        state.messages.extend(ChatMessageTool(content=ONE_CALL_PER_STEP, tool_call_id=other.id,
                                              function=other.function) for other in others)
    return "the episode has ended"


async def _played(messages: list[ChatMessage], call: ToolCall, episode: DrivenEpisode) -> list[ChatMessage]:
    """``messages``, what `execute_tools` answered ``call``; a call it refused without running
    it (arguments that do not parse or fit the schema, an unknown tool) is played all the same,
    the agent's mistake, and its answer tells the model what the env said too."""
    refused = [(i, m) for i, m in enumerate(messages) if isinstance(m, ChatMessageTool) and m.tool_call_id == call.id
               and m.error is not None and m.error.type == "parsing"]
    if not refused:
        return messages
    observation = await anyio.to_thread.run_sync(_step, episode, {"name": call.function, "arguments": call.arguments})
    at, message = refused[0]
    assert message.error is not None
    error = replace(message.error, message=f"{message.error.message}\n\nThe env answered: {observation}")
    return [*messages[:at], message.model_copy(update={"error": error}), *messages[at + 1:]]


class _Talk:
    """The sample's conversation as the episode records an LLM agent's: its chat messages in the
    OpenAI shape `blastradius show --transcript` and the report read, and the model's usage."""

    def __init__(self, state: TaskState) -> None:
        self._state = state
        self._tokens_in = self._tokens_out = self._calls = 0
        self._seconds = 0.0

    def replied(self, output: ModelOutput) -> None:
        self._calls += 1
        if output.usage is not None:
            self._tokens_in += output.usage.input_tokens
            self._tokens_out += output.usage.output_tokens
        self._seconds += output.time or 0.0

    def usage(self) -> dict[str, float | int | None]:
        # Inspect prices nothing it could tell us: the cost is unknown, not zero.
        return {"tokens_in": self._tokens_in, "tokens_out": self._tokens_out, "cost_usd": None,
                "latency_seconds": round(self._seconds, 6), "calls": self._calls}

    def transcript(self) -> list[dict[str, Any]]:
        return [_chat(message) for message in self._state.messages]


def _chat(message: ChatMessage) -> dict[str, Any]:
    """One Inspect message as an OpenAI chat message."""
    chat: dict[str, Any] = {"role": message.role, "content": message.text}
    if isinstance(message, ChatMessageAssistant) and message.tool_calls:
        chat["tool_calls"] = [{"id": call.id, "type": "function",
                               "function": {"name": call.function, "arguments": json.dumps(call.arguments)}}
                              for call in message.tool_calls]
    if isinstance(message, ChatMessageTool):
        chat["tool_call_id"] = message.tool_call_id
    return chat


def _runs_folder(output_dir: str | None) -> Path:
    if output_dir is not None:
        return Path(output_dir).expanduser().resolve()
    active = sample_active()
    location = active.log_location if active is not None else ""
    if location and "://" not in location:
        return Path(location).expanduser().resolve().parent / RUNS_FOLDER_NAME
    return Path.cwd() / RUNS_FOLDER_NAME


def _kept(state: TaskState, episode: DrivenEpisode) -> TaskState:
    """``state``, holding the episode's run folder (made by `DrivenEpisode.start` first of all)
    for the scorer."""
    assert episode.folder is not None
    state.store.set(RUN_FOLDER, str(episode.folder.path))
    return state
