"""The fault registry of the local stack: parsing LOCAL_FAULTS, seeded draws, limits, arming."""

from __future__ import annotations

import threading

import pytest

from local_stack import faults
from local_stack.event_sources import local_time_scale
from local_stack.faults import FAULT_NAMES, FaultConfigError, FaultRegistry, parse


def test_parse_reads_every_contract_name() -> None:
    spec = ",".join(f"{name}={i / 10}" for i, name in enumerate(FAULT_NAMES))
    assert parse(spec) == {name: i / 10 for i, name in enumerate(FAULT_NAMES)}
    assert parse(" sqs_duplicate = 0.05 , ") == {"sqs_duplicate": 0.05}
    assert parse("") == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sqs_dupe=0.1", "unknown fault 'sqs_dupe'"),
        ("sqs_duplicate=1.5", "outside [0, 1]"),
        ("sqs_duplicate=-0.1", "outside [0, 1]"),
        ("sqs_duplicate=nan", "outside [0, 1]"),
        ("sqs_duplicate=often", "not a number"),
        ("sqs_duplicate", "not name=probability"),
    ],
)
def test_parse_refuses_bad_values_with_a_clear_message(spec: str, message: str) -> None:
    with pytest.raises(FaultConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(spec)


def test_from_env_refuses_a_bad_seed_or_limit() -> None:
    with pytest.raises(FaultConfigError):
        FaultRegistry.from_env({"LOCAL_FAULTS": "sqs_duplicate=0.1", "LOCAL_FAULTS_SEED": "x"})
    with pytest.raises(FaultConfigError):
        FaultRegistry.from_env({"LOCAL_FAULTS_LIMIT": "-1"})


def _draws(registry: FaultRegistry, name: str, n: int) -> list[bool]:
    return [registry.should(name) for _ in range(n)]


def test_the_same_seed_gives_the_same_draws_and_faults_do_not_shift_each_other() -> None:
    env = {"LOCAL_FAULTS": "sqs_duplicate=0.3,ws_post_fail=0.3", "LOCAL_FAULTS_SEED": "7"}
    a, b = FaultRegistry.from_env(env), FaultRegistry.from_env(env)
    b.should("ws_post_fail")  # another fault's draw in between
    assert _draws(a, "sqs_duplicate", 200) == _draws(b, "sqs_duplicate", 200)
    c = FaultRegistry.from_env({**env, "LOCAL_FAULTS_SEED": "8"})
    assert _draws(c, "sqs_duplicate", 200) != _draws(FaultRegistry.from_env(env), "sqs_duplicate", 200)


def test_counts_list_every_configured_fault_and_follow_the_probability() -> None:
    registry = FaultRegistry({"sqs_duplicate": 0.1, "ws_post_fail": 0.0, "sqs_send_lost": 1.0}, seed=1)
    fired = sum(_draws(registry, "sqs_duplicate", 2000))
    assert not any(_draws(registry, "ws_post_fail", 100))
    assert all(_draws(registry, "sqs_send_lost", 10))
    assert not registry.should("matcher_crash_before_commit")  # not configured: never
    assert 150 < fired < 250
    assert registry.counts() == {"sqs_duplicate": fired, "ws_post_fail": 0, "sqs_send_lost": 10}


def test_limit_caps_injections_per_fault() -> None:
    registry = FaultRegistry.from_env(
        {"LOCAL_FAULTS": "sqs_duplicate=1,ws_post_fail=1", "LOCAL_FAULTS_LIMIT": "3"}
    )
    assert _draws(registry, "sqs_duplicate", 10) == [True] * 3 + [False] * 7
    assert registry.counts() == {"sqs_duplicate": 3, "ws_post_fail": 0}


def test_armed_fires_at_the_next_opportunities_of_the_named_functions_only() -> None:
    registry = FaultRegistry()
    with registry.armed(faults.WS_POST_FAIL, times=2, functions={faults.NOTIFIER}):
        assert not registry.should(faults.WS_POST_FAIL, faults.API)
        assert registry.should(faults.WS_POST_FAIL, faults.NOTIFIER)
        assert registry.should(faults.WS_POST_FAIL, faults.NOTIFIER)
        assert not registry.should(faults.WS_POST_FAIL, faults.NOTIFIER)
    assert not registry.should(faults.WS_POST_FAIL, faults.NOTIFIER)
    assert registry.counts() == {faults.WS_POST_FAIL: 2}


def test_counting_is_thread_safe() -> None:
    registry = FaultRegistry({"sqs_duplicate": 1.0})
    threads = [threading.Thread(target=_draws, args=(registry, "sqs_duplicate", 500)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert registry.counts() == {"sqs_duplicate": 4000}


def test_running_marks_the_calling_function() -> None:
    assert faults.current_function() is None
    with faults.running(faults.MATCHER):
        assert faults.current_function() == faults.MATCHER
    assert faults.current_function() is None


def test_local_time_scale() -> None:
    assert local_time_scale(None) == pytest.approx(1 / 60)
    assert local_time_scale("1/30") == pytest.approx(1 / 30)
    assert local_time_scale("0.5") == 0.5
    for bad in ("0", "2", "x", "1/0"):
        with pytest.raises(ValueError):
            local_time_scale(bad)


def test_decide_can_leave_the_count_to_the_injection_and_spreads_the_point() -> None:
    registry = FaultRegistry({faults.NOTIFIER_CRASH_AFTER_SEND: 1.0}, seed=3)
    points = [registry.decide(faults.NOTIFIER_CRASH_AFTER_SEND, count=False, spread=8) for _ in range(200)]
    assert set(points) == set(range(1, 9))  # a point in 1..8, drawn from the fault's generator
    assert registry.counts() == {faults.NOTIFIER_CRASH_AFTER_SEND: 0}  # decided is not injected
    registry.record(faults.NOTIFIER_CRASH_AFTER_SEND)
    assert registry.counts() == {faults.NOTIFIER_CRASH_AFTER_SEND: 1}
    with registry.armed(faults.NOTIFIER_CRASH_AFTER_SEND):
        assert registry.decide(faults.NOTIFIER_CRASH_AFTER_SEND, count=False, spread=8) == 1  # armed: at once


def test_a_planned_notifier_crash_not_reached_happens_at_the_return_and_is_counted_once() -> None:
    registry = FaultRegistry()
    with faults.running(faults.NOTIFIER) as invocation:
        invocation.crash_at, invocation.posts = 5, 2  # planned after the 5th post; only 2 were made
        invocation.on_crash = lambda: registry.record(faults.NOTIFIER_CRASH_AFTER_SEND)
        with pytest.raises(faults.LambdaCrash):
            invocation.finish()
        invocation.finish()  # once
    assert registry.counts() == {faults.NOTIFIER_CRASH_AFTER_SEND: 1}
    with faults.running(faults.NOTIFIER) as quiet:
        quiet.finish()  # nothing planned: nothing happens
