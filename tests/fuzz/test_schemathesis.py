"""schemathesis against a live server (`--checks all`, a fixed seed): no failure, money exact.

Marked `fuzz`: .ci/run runs it on SQLite and on PostgreSQL (a few minutes each); make test
leaves it out. The server is the test's app in a thread (tests/conftest.py `live_url`), with
the catch-all handler off, so an unexpected exception is a 500 that schemathesis reports.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from smsbulk.services import webhook_transport
from tests.factories import assert_every_ledger_exact
from tests.factories import make_user as make_full_user

pytestmark = pytest.mark.fuzz

ST = os.path.join(os.path.dirname(sys.executable), "st")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "tests", "fuzz", "schemathesis.toml")
SEED = "20261204"
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "50")  # per operation and phase: 2 to 4 minutes on 2 busy cores


@pytest.fixture
def endpoints_answer_at_once(monkeypatch):
    """The webhooks schemathesis registers name hosts such as example.com, which deliveries (run
    inline here, as RQ_ASYNC is off) would wait on: a stand-in for those receivers answers 200."""
    answered = webhook_transport.Outcome(True, 200, 1, "", None)
    monkeypatch.setattr(webhook_transport, "post", lambda *args, **kwargs: answered)


def test_schemathesis_finds_nothing_and_every_ledger_stays_exact(live_url, tmp_path, endpoints_answer_at_once):
    account = make_full_user("1000.00", quota=10_000_000)
    command = [
        ST, "--config-file", CONFIG, "run", f"{live_url}/api/openapi.json",
        "--checks", "all", "--seed", SEED, "--max-examples", EXAMPLES,
        "--workers", "1", "--header", f"x-api-key: {account.key}", "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--report", "junit", "--report-dir", os.environ.get("FUZZ_REPORT_DIR", str(tmp_path)),
    ]  # fmt: skip
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "PYTHONPATH": ROOT}
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200, env=env, cwd=ROOT)
    report = os.environ.get("FUZZ_REPORT")  # a file to keep schemathesis' whole output in
    if report:
        with open(report, "w") as out:
            out.write(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-30000:] + result.stderr[-5000:]
    assert_every_ledger_exact()
