"""The worker thread that episodes hand their agents' calls to: one for the episodes played from a
thread, one after another, and a new one after a call is abandoned."""

from __future__ import annotations

import threading
import time

import pytest

from blastradius.bench.agent_thread import StepTimeout, for_episodes


def _on_worker() -> threading.Thread:
    return threading.current_thread()


def test_episodes_played_from_one_thread_share_its_worker_until_a_call_is_abandoned() -> None:
    def play() -> list[threading.Thread]:
        first = for_episodes(5.0)
        threads = [first.call("act()", _on_worker), for_episodes(5.0).call("act()", _on_worker)]
        assert for_episodes(5.0) is first
        with pytest.raises(StepTimeout):
            for_episodes(0.2).call("act()", lambda: time.sleep(1))
        threads.append(for_episodes(0.2).call("act()", _on_worker))  # a new thread: the old one is stuck
        return threads

    box: list[list[threading.Thread]] = []
    player = threading.Thread(target=lambda: box.append(play()))
    player.start()
    player.join()
    first, second, after_timeout = box[0]
    assert first is second and after_timeout is not first
    assert player not in (first, after_timeout)  # calls never run on the thread that plays
