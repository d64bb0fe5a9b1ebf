"""RateLimiter: sliding windows per user and for everyone, exact retry times, bounded memory."""

from __future__ import annotations

import pytest

from discomfy.exceptions import RateLimitError
from discomfy.utils.rate_limit import RateLimitConfig, RateLimiter, describe_wait, describe_window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock, per_user=10, global_limit=100, window=60.0) -> RateLimiter:
    return RateLimiter(RateLimitConfig(per_user, global_limit, window), clock=clock)


def test_defaults_match_the_api():
    assert RateLimitConfig() == RateLimitConfig(per_user=10, global_limit=100, window_seconds=60.0)


def test_user_gets_exactly_per_user_requests_then_is_refused(clock):
    rl = limiter(clock)
    assert [rl.check_rate_limit(1) for _ in range(11)] == [True] * 10 + [False]
    assert rl.get_user_remaining(1) == 0
    assert rl.get_user_remaining(2) == 10
    assert rl.check_rate_limit(2)


def test_window_slides_rather_than_resetting(clock):
    rl = limiter(clock, per_user=2)
    assert rl.check_rate_limit(1)
    clock.advance(30)
    assert rl.check_rate_limit(1)
    assert not rl.check_rate_limit(1)
    assert rl.retry_after(1) == pytest.approx(30)
    clock.advance(30)  # the first request leaves the window, the second not yet
    assert rl.get_user_remaining(1) == 1
    assert rl.check_rate_limit(1)
    assert not rl.check_rate_limit(1)


def test_refused_requests_are_not_counted(clock):
    rl = limiter(clock, per_user=1)
    assert rl.check_rate_limit(1)
    for _ in range(50):
        assert not rl.check_rate_limit(1)
    clock.advance(60)
    assert rl.check_rate_limit(1)


def test_global_limit_holds_across_users_and_caps_remaining(clock):
    rl = limiter(clock, per_user=5, global_limit=3)
    assert [rl.check_rate_limit(u) for u in (1, 2, 3, 4)] == [True, True, True, False]
    assert rl.get_user_remaining(4) == 0
    assert rl.retry_after(4) == pytest.approx(60)


def test_reset_user_restores_their_allowance(clock):
    rl = limiter(clock, per_user=2)
    rl.check_rate_limit(7)
    rl.check_rate_limit(7)
    rl.reset_user(7)
    assert rl.get_user_remaining(7) == 2
    rl.reset_user(12345)  # unknown user: nothing happens


def test_acquire_per_user_message_says_when(clock):
    rl = limiter(clock)
    for _ in range(10):
        rl.acquire(1)
    clock.advance(18)
    with pytest.raises(RateLimitError) as caught:
        rl.acquire(1)
    assert caught.value.user_message == "You can run 10 generations per minute; try again in 42 s."
    assert caught.value.retry_after == pytest.approx(42)
    assert "per-user" in caught.value.detail


def test_acquire_global_message_differs(clock):
    rl = limiter(clock, per_user=10, global_limit=2, window=90)
    rl.acquire(1)
    rl.acquire(2)
    with pytest.raises(RateLimitError) as caught:
        rl.acquire(3)
    assert caught.value.user_message == (
        "The bot is busy: everyone together can run 2 generations every 90 seconds; try again in 1 min 30 s."
    )
    assert caught.value.retry_after == pytest.approx(90)


def test_retry_after_is_zero_when_allowed(clock):
    assert limiter(clock).retry_after(1) == 0.0


def test_idle_users_are_dropped_and_logs_stay_bounded(clock):
    rl = limiter(clock, per_user=3, global_limit=10_000)
    for user in range(1000):
        for _ in range(5):
            rl.check_rate_limit(user)
    assert rl.tracked_users() == 1000
    assert all(len(log) <= 3 for log in rl._users.values())
    clock.advance(61)
    rl.check_rate_limit("someone")
    assert rl.tracked_users() == 1


@pytest.mark.parametrize("bad", [dict(per_user=0), dict(global_limit=0), dict(window_seconds=0)])
def test_bad_config_is_refused_with_the_values(bad):
    with pytest.raises(ValueError, match="RateLimitConfig needs"):
        RateLimitConfig(**bad)


def test_from_config_reads_limits(tmp_path):
    from discomfy.config import get_config

    (tmp_path / "settings.toml").write_text("[limits]\nper_user = 4\nwindow_seconds = 30\n")
    assert RateLimitConfig.from_config(get_config(tmp_path)) == RateLimitConfig(4, 100, 30.0)


def test_descriptions():
    assert describe_window(60) == "per minute"
    assert describe_window(3600) == "per hour"
    assert describe_window(120) == "every 2 minutes"
    assert describe_wait(0.2) == "1 s"
    assert describe_wait(41.1) == "42 s"
    assert describe_wait(120) == "2 min"
