"""schemathesis hooks (tests/fuzz/schemathesis.toml): a fresh Idempotency-Key for each request.

schemathesis takes a header's values from its schema and example, so two different purchases
would share a key and the second would rightly answer 422 idempotency_key_reused; a valid key is
made unique per request, a malformed one is left as generated (it must answer 400)."""

import re
import uuid

import schemathesis

VALID = re.compile(r"[\x20-\x7e]{1,128}")


@schemathesis.hook
def before_call(context, case, **kwargs):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and VALID.fullmatch(key.strip()):
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"


@schemathesis.hook("before_call")
def short_waits(context, case, **kwargs):
    """A valid `wait` (up to 30 s) is shortened to 1 s: the waits themselves are tested in
    tests/push; here they would spend the run's minutes sleeping."""
    wait = (case.query or {}).get("wait")
    if isinstance(wait, int | str) and str(wait).isdigit() and 1 < int(wait) <= 30:
        case.query["wait"] = 1
