"""The LLM agent against a scripted OpenAI-compatible endpoint on 127.0.0.1 (no other network).

What users rely on: the env's tool schemas go to the model as native tools and each observation
comes back as the answer to its call; a model's malformed call is the env's to answer, never a
crash; extra calls and replies without a call keep the transcript valid and never loop forever;
429 and 5xx are retried with bounded, reproducible backoff; a small context trims old tool
output with a visible marker; tokens, latency and cost are counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from jsonschema import Draft202012Validator

from blastradius.agents.base import Briefing
from blastradius.agents.context import TRIM_MARKER, bounded
from blastradius.agents.errors import AgentSpecError
from blastradius.agents.llm import NUDGE, ONE_CALL_PER_STEP, SYSTEM_PROMPT, LLMAgent
from blastradius.agents.pricing import PRICES, Price, cost_usd, price_of, price_table
from blastradius.bench.storage import load_schema
from blastradius.envs import BlastRadiusEnv

from llm_server import COMPLETION_TOKENS, PROMPT_TOKENS, FakeLLM, failure, text, tool_call, tool_calls

FAMILY = "freeze_prod_db"


class Episode:
    """An env and an LLM agent stepped by hand: ``step()`` asks the agent and plays its action."""

    def __init__(self, server: FakeLLM, **options: Any) -> None:
        self.sleeps: list[float] = []
        self.env = BlastRadiusEnv(family=FAMILY)
        self.observation, info = self.env.reset(seed=0)
        self.briefing = Briefing.from_reset_info(info, 0)
        self.agent = LLMAgent(base_url=server.url, model=options.pop("model", "scripted"),
                              sleep=self.sleeps.append, **options)
        self.agent.reset(self.briefing)
        self.infos: list[dict[str, Any]] = []
        self.observations: list[str] = []

    def step(self) -> Any:
        action = self.agent.act(self.observation)
        self.observation, _, _, _, info = self.env.step(action)
        self.infos.append(info)
        self.observations.append(self.observation)
        return action


# -- the conversation ----------------------------------------------------------------------------


def test_the_first_request_sends_the_prompt_the_briefing_and_the_env_tools(llm_server: FakeLLM) -> None:
    llm_server.push(tool_call("whoami"))
    episode = Episode(llm_server)
    assert episode.step() == {"name": "whoami", "arguments": "{}"}
    [request] = llm_server.requests
    assert request["model"] == "scripted"
    assert request["tools"] == list(episode.briefing.tools)
    assert {tool["function"]["name"] for tool in request["tools"]} >= {"whoami", "submit_report", "escalate"}
    assert request["messages"] == [{"role": "system", "content": SYSTEM_PROMPT},
                                   {"role": "user", "content": episode.briefing.told()}]
    assert request["temperature"] == 0.0
    assert "seed" not in request and "max_tokens" not in request and "parallel_tool_calls" not in request


def test_a_subclass_can_bring_its_own_prompt(llm_server: FakeLLM) -> None:
    class Terse(LLMAgent):
        system_prompt = "Be brief."

    agent = Terse(base_url=llm_server.url, model="scripted")
    llm_server.push(tool_call("whoami"))
    agent.reset(Briefing("the task", (), FAMILY, "logs", 0))
    agent.act("the task")
    assert llm_server.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_optional_request_fields(llm_server: FakeLLM) -> None:
    llm_server.push(tool_call("whoami"))
    Episode(llm_server, temperature=None, seed=7, max_tokens=256).step()
    [request] = llm_server.requests
    assert "temperature" not in request and request["seed"] == 7 and request["max_tokens"] == 256


def test_each_observation_answers_its_call_as_a_tool_message(llm_server: FakeLLM) -> None:
    llm_server.push(tool_call("whoami"), tool_call("list_resources", {"env": "prod"}))
    episode = Episode(llm_server)
    episode.step()
    first_observation = episode.observations[0]
    assert episode.step() == {"name": "list_resources", "arguments": '{"env": "prod"}'}
    sent = llm_server.requests[1]["messages"]
    call_id = sent[2]["tool_calls"][0]["id"]
    assert sent[2]["role"] == "assistant" and sent[2]["tool_calls"][0]["function"]["name"] == "whoami"
    assert sent[3] == {"role": "tool", "tool_call_id": call_id, "content": first_observation}
    assert len(sent) == 4


def test_a_malformed_call_goes_to_the_env_and_comes_back_as_an_error(llm_server: FakeLLM) -> None:
    llm_server.push(tool_call("describe", '{"resource": '), tool_call("frobnicate", {}), tool_call("whoami"))
    episode = Episode(llm_server)
    assert episode.step() == {"name": "describe", "arguments": '{"resource": '}  # passed on as written
    assert "not valid JSON" in episode.infos[-1]["action_error"]
    episode.step()
    assert "unknown tool 'frobnicate'" in episode.infos[-1]["action_error"]
    episode.step()
    tool_messages = [m for m in llm_server.requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["content"].splitlines()[1].startswith("error:") for m in tool_messages] == [True, True]


def test_only_the_first_of_several_calls_runs_and_the_others_are_answered(llm_server: FakeLLM) -> None:
    llm_server.push(tool_calls(("whoami", {}), ("list_resources", {}), ("metrics", {})), tool_call("whoami"))
    episode = Episode(llm_server)
    assert episode.step()["name"] == "whoami"
    episode.step()
    messages = llm_server.requests[1]["messages"]
    ids = [call["id"] for call in messages[2]["tool_calls"]]
    assert len(set(ids)) == 3
    assert messages[3] == {"role": "tool", "tool_call_id": ids[0], "content": episode.observations[0]}
    assert messages[4:] == [{"role": "tool", "tool_call_id": ids[1], "content": ONE_CALL_PER_STEP},
                            {"role": "tool", "tool_call_id": ids[2], "content": ONE_CALL_PER_STEP}]
    assert len(episode.infos) == 2  # two steps, not four


def test_a_reply_without_a_call_is_nudged_within_the_same_step(llm_server: FakeLLM) -> None:
    llm_server.push(text("Let me think about this."), tool_call("whoami"))
    episode = Episode(llm_server)
    assert episode.step()["name"] == "whoami"
    assert len(llm_server.requests) == 2 and len(episode.infos) == 1
    assert llm_server.requests[1]["messages"][2:] == [
        {"role": "assistant", "content": "Let me think about this."}, {"role": "user", "content": NUDGE}]


def test_a_model_that_never_calls_a_tool_escalates_after_the_nudges(llm_server: FakeLLM) -> None:
    llm_server.push(*(text(f"reply {n}") for n in range(10)))
    episode = Episode(llm_server, max_nudges=2)
    action = episode.step()
    assert len(llm_server.requests) == 3  # the first try and two nudges
    assert action["name"] == "escalate" and "reply 2" in action["arguments"]["reason"]
    assert "stopped calling tools" in action["arguments"]["reason"]
    assert episode.env.scenario.world.session.finish[0] == "escalate"  # the episode is over, at a bounded cost


# -- retries -----------------------------------------------------------------------------------


def test_429_and_5xx_are_retried_with_doubling_delays(llm_server: FakeLLM) -> None:
    llm_server.push(failure(429), failure(500), failure(503), tool_call("whoami"))
    episode = Episode(llm_server, backoff_seconds=0.5, jitter=0)  # the schedule itself, without its jitter
    assert episode.step()["name"] == "whoami"
    assert episode.sleeps == [0.5, 1.0, 2.0]
    assert len(llm_server.requests) == 4
    stats = episode.agent.episode_stats()
    assert stats["calls"] == 1 and stats["tokens_in"] == PROMPT_TOKENS  # failed attempts bill nothing


def test_delays_are_capped(llm_server: FakeLLM) -> None:
    llm_server.push(*(failure(500) for _ in range(4)), tool_call("whoami"))
    episode = Episode(llm_server, backoff_seconds=1.0, max_backoff_seconds=3.0, jitter=0)
    episode.step()
    assert episode.sleeps == [1.0, 2.0, 3.0, 3.0]


def test_retries_are_bounded(llm_server: FakeLLM) -> None:
    llm_server.push(*(failure(429) for _ in range(5)))
    episode = Episode(llm_server, max_retries=2, backoff_seconds=0.25, jitter=0)
    with pytest.raises(RuntimeError, match="failed 3 times in a row"):
        episode.step()
    assert episode.sleeps == [0.25, 0.5] and len(llm_server.requests) == 3


def test_other_errors_are_not_retried(llm_server: FakeLLM) -> None:
    llm_server.push(failure(400))
    episode = Episode(llm_server)
    with pytest.raises(openai.BadRequestError):
        episode.step()
    assert episode.sleeps == [] and len(llm_server.requests) == 1


# -- the bounded context -----------------------------------------------------------------------


def test_old_tool_output_is_trimmed_with_a_marker_when_the_context_is_small(llm_server: FakeLLM) -> None:
    llm_server.push(*(tool_call("list_resources") for _ in range(6)))
    episode = Episode(llm_server, max_context_chars=4000)
    for _ in range(6):
        episode.step()
    last = llm_server.requests[-1]["messages"]
    assert last[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert last[1] == {"role": "user", "content": episode.briefing.told()}
    tools = [m for m in last if m["role"] == "tool"]
    trimmed = [m for m in tools if m["content"].startswith("[earlier tool output trimmed: ")]
    assert trimmed and tools[0] in trimmed and tools[-1] not in trimmed  # oldest first, latest kept
    transcript = episode.agent.transcript()
    full = {m["tool_call_id"]: m["content"] for m in transcript if m["role"] == "tool"}
    for message in trimmed:  # the marker says exactly how much was cut
        assert message["content"] == TRIM_MARKER.format(chars=len(full[message["tool_call_id"]]))
    assert [m["role"] for m in last] == [m["role"] for m in transcript[:len(last)]]  # nothing dropped
    assert not any("trimmed" in str(m.get("content")) for m in transcript)  # the kept record is whole


def test_bounded_keeps_the_head_and_the_latest_messages() -> None:
    messages = [{"role": "system", "content": "s" * 50}, {"role": "user", "content": "b" * 50}]
    for n in range(5):
        messages += [{"role": "assistant", "content": None, "tool_calls": [{"id": f"c{n}"}]},
                     {"role": "tool", "tool_call_id": f"c{n}", "content": "o" * 1000}]
    out = bounded(messages, max_chars=0, keep_last=4)
    assert out[:2] == messages[:2] and out[-4:] == messages[-4:]
    assert [m["content"] for m in out[2:-4] if m["role"] == "tool"] == [TRIM_MARKER.format(chars=1000)] * 3
    assert bounded(messages, max_chars=10**6) == messages
    assert messages[3]["content"] == "o" * 1000  # the input is not changed


# -- transcript, usage, cost ----------------------------------------------------------------------


def test_the_transcript_is_chat_messages_that_round_trip_and_validate(llm_server: FakeLLM) -> None:
    llm_server.push(tool_call("whoami"), text("hmm"), tool_calls(("list_resources", {}), ("whoami", {})))
    episode = Episode(llm_server)
    for _ in range(3):
        episode.step()
    transcript = episode.agent.transcript()
    assert json.loads(json.dumps(transcript)) == transcript
    schema = load_schema("trajectory")["properties"]["transcript"]
    Draft202012Validator(schema).validate(transcript)
    assert {key for m in transcript for key in m} <= {"role", "content", "tool_calls", "tool_call_id"}
    called = [call["id"] for m in transcript if m["role"] == "assistant" for call in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in transcript if m["role"] == "tool"]
    assert called[:-1] == answered[:len(called) - 1]  # every call but the pending last one is answered, in order


def test_tokens_latency_calls_and_cost_are_counted(llm_server: FakeLLM) -> None:
    llm_server.push(tool_call("whoami"), text("..."), tool_call("whoami"))
    episode = Episode(llm_server, prices={"scripted": {"input": 3.0, "output": 15.0}})
    episode.step()
    episode.step()
    stats = episode.agent.episode_stats()
    assert (stats["calls"], stats["tokens_in"], stats["tokens_out"]) == (3, 3 * PROMPT_TOKENS, 3 * COMPLETION_TOKENS)
    assert stats["cost_usd"] == pytest.approx((300 * 3.0 + 30 * 15.0) / 1e6)
    assert 0 < stats["latency_seconds"] < 10


def test_prices_from_a_json_file_and_a_model_without_a_price(llm_server: FakeLLM, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"scripted": [1.0, 2.0]}))
    llm_server.push(tool_call("whoami"), tool_call("whoami"))
    priced, unpriced = Episode(llm_server, prices=str(prices)), Episode(llm_server, model="mystery-model")
    priced.step()
    unpriced.step()
    assert priced.agent.episode_stats()["cost_usd"] == pytest.approx((100 * 1.0 + 10 * 2.0) / 1e6)
    assert unpriced.agent.episode_stats()["cost_usd"] is None  # unknown, never 0


def test_price_lookup() -> None:
    assert price_of("gpt-4o-mini-2024-07-18", PRICES) == PRICES["gpt-4o-mini"]  # a snapshot, by its stem
    assert price_of("gpt-4o-2024-08-06", PRICES) == PRICES["gpt-4o"]
    assert price_of("llama3", PRICES) is None
    assert price_table({"gpt-4o": [1, 1]})["gpt-4o"] == Price(1, 1)  # the user's table wins
    assert cost_usd(Price(2.5, 10.0), 1_000_000, 100_000) == 3.5
    for bad in ({"m": [1]}, {"m": {"input": -1, "output": 1}}, {"m": "cheap"}, ["m"]):
        with pytest.raises(AgentSpecError):
            price_table(bad)


# -- configuration ----------------------------------------------------------------------------------


def test_a_remote_endpoint_without_a_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(AgentSpecError, match=r"set the environment variable OPENAI_API_KEY.*api_key_env"):
        LLMAgent(model="gpt-4o-mini", base_url="https://api.example.com/v1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(AgentSpecError, match=r"https://api\.openai\.com/v1"):
        LLMAgent(model="gpt-4o-mini")
    LLMAgent(model="qwen", base_url="http://localhost:11434/v1")  # local: no key needed


def test_the_key_comes_from_the_named_variable(llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TEST_KEY", "sk-test-123")
    llm_server.push(tool_call("whoami"))
    Episode(llm_server, api_key_env="MY_TEST_KEY").step()
    assert llm_server.authorizations == ["Bearer sk-test-123"]


def test_configuration_mistakes_say_what_to_type() -> None:
    with pytest.raises(AgentSpecError, match="needs a model: --agent-kwarg model=NAME"):
        LLMAgent(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(AgentSpecError, match=r"unknown argument 'temprature'\. Did you mean 'temperature'"):
        LLMAgent(model="m", base_url="http://127.0.0.1:9/v1", temprature=0.2)
    with pytest.raises(AgentSpecError, match="max_nudges must be a non-negative integer"):
        LLMAgent(model="m", base_url="http://127.0.0.1:9/v1", max_nudges="3")


def test_the_model_is_told_its_step_budget(llm_server: FakeLLM) -> None:
    """An agent that plays blind must know when its episode will end, as an operator knows how
    long they have: the budget is the env's, given at reset."""
    llm_server.push(tool_call("whoami"))
    episode = Episode(llm_server)
    episode.step()
    first = llm_server.requests[0]["messages"][1]["content"]
    assert episode.briefing.max_steps and f"at most {episode.briefing.max_steps} steps" in first
