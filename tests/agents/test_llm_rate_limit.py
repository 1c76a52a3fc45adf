"""The LLM agent under load, against the scripted endpoint on 127.0.0.1 (no other network).

What users rely on when ``run --jobs N`` plays many LLM episodes at once: a server's
``Retry-After`` (seconds, milliseconds or an HTTP-date) is obeyed, within a bound; without one,
the backoff is jittered within its schedule when asked, and the jitter never changes what the
model is sent; ``max_connections`` (an agent's, or the process default) really bounds the
requests the server sees at once, across threads, and changing the default mid-run strands no
one; waiting for a connection is not counted as the model's latency.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from typing import Any

import pytest

from blastradius.agents.base import Briefing
from blastradius.agents.errors import AgentSpecError
from blastradius.agents.llm import MAX_RETRY_AFTER_SECONDS, LLMAgent
from blastradius.agents.rate_limit import endpoint, endpoint_key, retry_after, set_default_max_connections

from llm_server import FakeLLM, failure, tool_call

BRIEFING = Briefing("the task", (), "freeze_prod_db", "logs", 0)


@pytest.fixture(autouse=True)
def _no_default_limit() -> Iterator[None]:
    """The process default is global: every test starts and ends without one."""
    set_default_max_connections(None)
    yield
    set_default_max_connections(None)


class Retrying:
    """One agent whose sleeps are recorded, asked for one action."""

    def __init__(self, server: FakeLLM, **options: Any) -> None:
        self.sleeps: list[float] = []
        self.agent = LLMAgent(base_url=server.url, model="scripted", sleep=self.sleeps.append, **options)
        self.agent.reset(BRIEFING)

    def act(self) -> Any:
        return self.agent.act(BRIEFING.text)


def _at_once(urls: list[str], calls: int, meanwhile: Callable[[], None] | None = None,
             **options: Any) -> list[LLMAgent]:
    """An agent for each of ``urls``, each on a thread of its own making ``calls`` calls, all
    started together; ``meanwhile`` runs here once they have started. Returns the agents when
    every thread has ended (fails after 30 s: an agent stuck waiting for a connection)."""
    made = [LLMAgent(base_url=url, model="scripted", **options) for url in urls]
    start = threading.Event()
    errors: list[BaseException] = []

    def play(agent: LLMAgent) -> None:
        try:
            start.wait()
            agent.reset(BRIEFING)
            for _ in range(calls):
                agent.act(BRIEFING.text)
        except BaseException as exc:  # noqa: BLE001 - reported by the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=play, args=(agent,)) for agent in made]
    for thread in threads:
        thread.start()
    start.set()
    if meanwhile is not None:
        meanwhile()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "agents stuck waiting for a connection"
    assert not errors, errors
    return made


# -- Retry-After ---------------------------------------------------------------------------------


def test_the_server_named_wait_is_used_in_seconds_or_milliseconds(llm_server: FakeLLM) -> None:
    llm_server.push(failure(429, {"Retry-After": "3"}), failure(503, {"retry-after-ms": "1500"}),
                    failure(429, {"Retry-After": "2", "retry-after-ms": "250"}), tool_call("whoami"))
    episode = Retrying(llm_server, jitter=1.0, rand=lambda: 0.5)  # the server's wait is never jittered
    assert episode.act()["name"] == "whoami"
    assert episode.sleeps == [3.0, 1.5, 0.25]  # milliseconds win: they are the more precise


def test_a_server_named_wait_longer_than_the_backoff_cap_is_obeyed(llm_server: FakeLLM) -> None:
    llm_server.push(failure(429, {"Retry-After": "45"}), tool_call("whoami"))
    episode = Retrying(llm_server, max_backoff_seconds=10)
    episode.act()
    assert episode.sleeps == [45.0]


def test_a_wait_beyond_the_bound_is_a_spent_quota_and_fails_at_once(llm_server: FakeLLM) -> None:
    llm_server.push(failure(429, {"Retry-After": str(int(MAX_RETRY_AFTER_SECONDS) + 1)}))
    episode = Retrying(llm_server)
    with pytest.raises(RuntimeError, match=r"asks to wait 121 s .* more than the 120 s"):
        episode.act()
    assert episode.sleeps == [] and len(llm_server.requests) == 1
    llm_server.push(failure(429, {"Retry-After": "300"}), tool_call("whoami"))
    patient = Retrying(llm_server, max_backoff_seconds=600)  # a longer cap raises the bound
    patient.act()
    assert patient.sleeps == [300.0]


def test_retry_after_as_an_http_date(llm_server: FakeLLM) -> None:
    llm_server.push(failure(503, {"Retry-After": formatdate(time.time() + 30, usegmt=True)}), tool_call("whoami"))
    episode = Retrying(llm_server)
    episode.act()
    [slept] = episode.sleeps
    assert 28 < slept <= 30  # the date has whole seconds


def test_reading_retry_after() -> None:
    moment = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    now = moment.timestamp() - 10
    assert retry_after({"retry-after": format_datetime(moment, usegmt=True)}, now) == 10
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 -0000"}, now) == 10
    assert retry_after({"retry-after": "0.5"}, now) == 0.5
    assert retry_after({"retry-after-ms": "soon", "retry-after": "2"}, now) == 2  # a garbled one is skipped
    for useless in ("0", "-3", "nan", "inf", "tomorrow", "Wed, 21 Oct 2015 07:27:00 GMT"):  # past dates too
        assert retry_after({"retry-after": useless}, now) is None
    assert retry_after({}, now) is None


def test_a_useless_retry_after_falls_back_to_the_schedule(llm_server: FakeLLM) -> None:
    llm_server.push(failure(429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), failure(500, {"Retry-After": "x"}),
                    tool_call("whoami"))
    episode = Retrying(llm_server, backoff_seconds=0.5, jitter=0)
    episode.act()
    assert episode.sleeps == [0.5, 1.0]


# -- jitter ---------------------------------------------------------------------------------------


def test_jitter_takes_its_share_off_the_schedule(llm_server: FakeLLM) -> None:
    llm_server.push(*(failure(500) for _ in range(3)), tool_call("whoami"))
    episode = Retrying(llm_server, backoff_seconds=1.0, max_backoff_seconds=3.0, jitter=0.5, rand=lambda: 0.5)
    episode.act()
    assert episode.sleeps == [0.75, 1.5, 2.25]  # each delay less a quarter (half of the jitter's half)


def test_full_jitter_stays_within_the_schedule_and_varies(llm_server: FakeLLM) -> None:
    schedule = [min(0.5 * 2 ** n, 4.0) for n in range(8)]
    for rand in (random.Random(7).random, random.random):  # a seeded source and the default one
        llm_server.push(*(failure(429) for _ in range(8)), tool_call("whoami"))
        episode = Retrying(llm_server, max_retries=8, backoff_seconds=0.5, max_backoff_seconds=4.0, jitter=1.0,
                           rand=rand)
        episode.act()
        assert len(episode.sleeps) == 8
        assert all(0 < slept <= top for slept, top in zip(episode.sleeps, schedule, strict=True))
        assert len(set(episode.sleeps)) == 8 and episode.sleeps != schedule


def test_jitter_changes_when_requests_go_never_what_they_say(llm_server: FakeLLM) -> None:
    script = (failure(429), tool_call("whoami"), failure(500), failure(503), tool_call("list_resources"))
    sent = []
    for jitter in (0.0, 1.0):
        llm_server.requests.clear()
        llm_server.push(*script)
        episode = Retrying(llm_server, jitter=jitter, backoff_seconds=0.01)
        actions = [episode.act(), episode.act()]
        sent.append((actions, llm_server.requests[:], episode.agent.transcript()))
    assert sent[0] == sent[1]


# -- the connection limit --------------------------------------------------------------------------


def test_max_connections_bounds_the_requests_the_server_sees_at_once(llm_server: FakeLLM) -> None:
    llm_server.delay = 0.05
    agents = _at_once([llm_server.url] * 16, calls=3, max_connections=3)
    assert llm_server.peak == 3  # reached, never passed
    assert len(llm_server.requests) == 48 and sum(a.episode_stats()["calls"] for a in agents) == 48


def test_without_a_limit_the_server_sees_them_all_at_once(llm_server: FakeLLM) -> None:
    llm_server.delay = 0.2  # so the server's count is real: unlimited agents do pile up
    _at_once([llm_server.url] * 8, calls=1)
    assert llm_server.peak > 3


def test_the_process_default_limits_agents_that_set_none(llm_server: FakeLLM) -> None:
    set_default_max_connections(2)
    llm_server.delay = 0.05
    _at_once([llm_server.url] * 10, calls=2)
    assert llm_server.peak == 2


def test_agents_on_one_endpoint_share_its_limit_however_they_spell_it(llm_server: FakeLLM) -> None:
    assert endpoint_key("HTTP://LocalHost:80/v1/") == endpoint_key("http://localhost/v1") == "http://localhost:80/v1"
    assert endpoint_key("https://[::1]/v1") == "https://[::1]:443/v1"
    spellings = [llm_server.url, llm_server.url + "/", llm_server.url.replace("http://", "HTTP://")]
    assert endpoint(spellings[0]) is endpoint(spellings[1]) is endpoint(spellings[2])
    llm_server.delay = 0.05
    _at_once(spellings * 4, calls=2, max_connections=2)
    assert llm_server.peak == 2


def test_changing_the_default_mid_run_strands_no_one(llm_server: FakeLLM) -> None:
    def change() -> None:
        time.sleep(0.15)  # requests go one at a time; the other agents wait for a slot
        set_default_max_connections(None)  # the waiters go at once...
        time.sleep(0.05)
        set_default_max_connections(2)  # ...and a lower limit again holds only new requests

    set_default_max_connections(1)
    llm_server.delay = 0.1
    _at_once([llm_server.url] * 12, calls=2, meanwhile=change)
    assert len(llm_server.requests) == 24


def test_waiting_for_a_connection_is_not_the_models_latency(llm_server: FakeLLM) -> None:
    llm_server.delay = 0.05
    began = time.perf_counter()
    agents = _at_once([llm_server.url] * 6, calls=2, max_connections=1)
    wall = time.perf_counter() - began
    assert llm_server.peak == 1
    # One request at a time: each agent's latency lies inside its slots, which never overlap, so
    # together they fit in the wall time; counting the queue would add up to several times it.
    assert sum(a.episode_stats()["latency_seconds"] for a in agents) <= wall


def test_rate_limit_options_are_checked() -> None:
    for bad in ({"jitter": 1.5}, {"jitter": -0.1}, {"jitter": True}):
        with pytest.raises(AgentSpecError, match="jitter must be a number from 0 to 1"):
            LLMAgent(model="m", base_url="http://127.0.0.1:9/v1", **bad)
    for bad in ({"max_connections": 0}, {"max_connections": 2.5}, {"max_connections": "4"}):
        with pytest.raises(AgentSpecError, match="max_connections must be a positive integer or null"):
            LLMAgent(model="m", base_url="http://127.0.0.1:9/v1", **bad)
    with pytest.raises(ValueError, match="max_connections must be a positive integer or None"):
        set_default_max_connections(0)
