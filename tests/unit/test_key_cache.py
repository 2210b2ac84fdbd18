"""The per-process key cache and the change feed in Redis that keeps every process's cache honest.

Each KeyCache here stands for another process's cache (the module's own is this process's)."""

from smsbulk import auth
from smsbulk.extensions import get_redis
from smsbulk.models import ApiKey
from smsbulk.models.base import utcnow


def hash_of(account) -> str:
    return auth.hash_key(account.key)


def test_a_cached_key_is_trusted_until_the_feed_says_it_changed(conn, make_user):
    other = auth.KeyCache()
    account = make_user()
    redis = get_redis()
    assert other.get(hash_of(account), 60, redis, check_every=0).key_id == account.key_id
    ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == account.key_id).execute()
    assert other.get(hash_of(account), 60, redis, check_every=0) is not None  # cached: the row is not read
    auth.publish_change(redis, account.key_id)
    assert other.get(hash_of(account), 60, redis, check_every=0) is None


def test_the_feed_is_read_at_most_once_per_check_interval(conn, make_user, monkeypatch):
    other = auth.KeyCache()
    account = make_user()
    redis = get_redis()
    reads = []
    real = auth.run_script
    monkeypatch.setattr(auth, "run_script", lambda *args: reads.append(1) or real(*args))
    for _ in range(50):
        other.get(hash_of(account), 60, redis, check_every=30)
    assert len(reads) == 1
    ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == account.key_id).execute()
    auth.publish_change(redis, account.key_id)  # read by `other` only at its next check
    assert other.get(hash_of(account), 60, redis, check_every=30) is not None
    assert other.get(hash_of(account), 60, redis, check_every=0) is None


def test_only_the_changed_keys_are_forgotten(conn, make_user, monkeypatch):
    other = auth.KeyCache()
    first, second = make_user(), make_user()
    redis = get_redis()
    for account in (first, second):
        other.get(hash_of(account), 60, redis, check_every=0)
    loads = []
    real = auth._load_caller
    monkeypatch.setattr(auth, "_load_caller", lambda key_hash: loads.append(key_hash) or real(key_hash))
    auth.publish_change(redis, first.key_id)
    other.get(hash_of(first), 60, redis, check_every=0)
    other.get(hash_of(second), 60, redis, check_every=0)
    assert loads == [hash_of(first)]


def test_a_gap_in_the_feed_or_an_emptied_redis_forgets_everything(conn, make_user):
    other = auth.KeyCache()
    account = make_user()
    redis = get_redis()
    other.get(hash_of(account), 60, redis, check_every=0)
    for key_id in range(10_000, 10_000 + auth.FEED_LENGTH + 5):  # other keys, enough to trim ours away
        auth.publish_change(redis, key_id)
    ApiKey.update(daily_quota=7).where(ApiKey.id == account.key_id).execute()  # a change the feed lost
    assert other.get(hash_of(account), 60, redis, check_every=0).daily_quota == 7
    ApiKey.update(daily_quota=8).where(ApiKey.id == account.key_id).execute()
    redis.delete(auth.CHANGES_SEQ, auth.CHANGES)  # Redis emptied: the numbers start again
    assert other.get(hash_of(account), 60, redis, check_every=0).daily_quota == 8


def test_a_read_that_overlaps_a_change_is_not_kept(conn, make_user, monkeypatch):
    """A row read before a change commits, but stored after the feed told of the change, would
    be trusted for the cache's whole lifetime: it is used once, not kept."""
    other = auth.KeyCache()
    account = make_user()
    redis = get_redis()
    real = auth._load_caller
    loads = []

    def load_while_the_key_changes(key_hash):
        caller = real(key_hash)
        loads.append(key_hash)
        if len(loads) == 1:
            other.forget({account.key_id})  # another thread applied the feed meanwhile
        return caller

    monkeypatch.setattr(auth, "_load_caller", load_while_the_key_changes)
    other.get(hash_of(account), 60, redis, check_every=60)
    other.get(hash_of(account), 60, redis, check_every=60)
    other.get(hash_of(account), 60, redis, check_every=60)
    assert len(loads) == 2
