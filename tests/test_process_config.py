"""The Procfile, the queues and the job paths agree with each other."""

import importlib
import re
from pathlib import Path

from smsbulk.queues import JOB_FUNCS, PERIODIC, QueueNames

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip())


def test_the_procfile_has_web_worker_cron_and_release():
    processes = procfile()
    assert set(processes) == {"web", "worker", "cron", "release"}
    assert "gunicorn wsgi:app" in processes["web"]
    assert "-m workers" in processes["worker"]
    assert "db-upgrade" in processes["release"]


def test_every_job_path_resolves_to_a_function():
    for path in JOB_FUNCS.values():
        module, name = path.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), path


def test_the_worker_serves_every_queue_and_periodic_jobs_are_known():
    source = (ROOT / "workers" / "__main__.py").read_text()
    assert "QueueNames.all()" in source
    assert set(QueueNames.all()) == {"purchases", "provider", "periodic"}
    assert {name for name, _ in PERIODIC} <= set(JOB_FUNCS)


def test_the_web_package_never_imports_the_job_code():
    for path in (ROOT / "smsbulk").rglob("*.py"):
        assert not re.search(r"^\s*(from|import) workers", path.read_text(), re.M), path


def test_the_access_log_never_shows_query_strings_where_legacy_keys_travel():
    import runpy

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert "%(U)s" in settings["access_log_format"]
    assert "%(r)s" not in settings["access_log_format"] and "%(q)s" not in settings["access_log_format"]
