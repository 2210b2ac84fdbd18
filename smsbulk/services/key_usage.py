"""What a key has used: requests today, purchases and spend today, and when it was last used.

None of it costs a request a database write. Requests are counted in Redis (quota.py), whose
scripts also note each key's last use there; record_last_used() moves those times to the
database once a minute, so they outlive Redis.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from ..extensions import get_redis
from ..models import ApiKey, KeyDailyUsage
from ..quota import LAST_USED, run_script, used_today

# Take every noted time and empty the hash, in one step: a time noted after it waits for the next run.
_TAKE = """
local noted = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return noted
"""
# Put back times a failed run took (a later time noted meanwhile wins).
_PUT_BACK = """
for i = 1, #ARGV, 2 do
  local noted = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if noted < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 0
"""


def _moment(unix: float | int | bytes | None) -> datetime.datetime | None:
    if unix is None:
        return None
    return datetime.datetime.fromtimestamp(int(unix), datetime.UTC).replace(tzinfo=None)


def attach(keys: list[ApiKey]) -> list[ApiKey]:
    """Set on each key what the APIs show of its use: `usage_today`, `purchases_today`,
    `spent_today` and `last_used` (the database's time, or a later one noted in Redis)."""
    if not keys:
        return keys
    ids = [key.id for key in keys]
    connection = get_redis()
    requests = used_today(connection, ids)
    noted = dict(zip(ids, connection.hmget(LAST_USED, ids), strict=True))
    today = datetime.datetime.now(datetime.UTC).date()
    spending = {
        row.key_id: row for row in KeyDailyUsage.select().where(KeyDailyUsage.key.in_(ids), KeyDailyUsage.day == today)
    }
    for key in keys:
        key.usage_today = requests[key.id]
        guarded = spending.get(key.id)
        key.purchases_today = guarded.purchases if guarded else 0
        key.spent_today = guarded.spent if guarded else Decimal("0.00")
        times = [moment for moment in (key.last_used_at, _moment(noted[key.id])) if moment is not None]
        key.last_used = max(times) if times else None
    return keys


def unused(key: ApiKey) -> ApiKey:
    """attach() for a key just made: nothing used yet, nothing to read."""
    key.usage_today = key.purchases_today = 0
    key.spent_today = Decimal("0.00")
    key.last_used = None
    return key


def record_last_used() -> int:
    """Move the last-use times noted in Redis to the keys' rows; how many keys were noted."""
    connection = get_redis()
    noted = run_script(connection, _TAKE, [LAST_USED], [])
    pairs = [(int(noted[i]), int(noted[i + 1])) for i in range(0, len(noted), 2)]
    try:
        for key_id, unix in pairs:
            moment = _moment(unix)
            newer = ApiKey.last_used_at.is_null() | (ApiKey.last_used_at < moment)
            ApiKey.update(last_used_at=moment).where((ApiKey.id == key_id) & newer).execute()
    except Exception:
        run_script(connection, _PUT_BACK, [LAST_USED], [value for pair in pairs for value in pair])
        raise
    return len(pairs)
