"""`make loadtest`'s verdict: the poll latency target judges polling, not long polls held open."""

from loadtests.loadtest import summary


def stats(p99_ms: int, polls: int = 100, purchases: int = 50) -> dict[str, dict]:
    row = {"Request Count": str(polls), "50%": str(p99_ms), "99%": str(p99_ms)}
    return {
        "Aggregated": {"Request Count": str(polls + purchases), "Failure Count": "0", "Requests/s": "10"},
        "legacy getStatus": row,
        "legacy getNumber": {**row, "Request Count": str(purchases)},
    }


def test_long_polls_held_for_their_wait_pass_and_slow_polls_fail():
    lines, ok = summary(stats(25000), [80.0], wait=25)
    assert ok and "held up to 25 s" in "\n".join(lines) and "legacy 2.0" in "\n".join(lines)
    lines, ok = summary(stats(25000), [80.0])
    assert not ok and "target < 50 ms" in "\n".join(lines)
    assert summary(stats(40), [80.0])[1] and not summary(stats(40), [200.0], wait=25)[1]
    assert not summary(stats(60), [80.0])[1]  # the bar: p99 of polls under 50 ms
