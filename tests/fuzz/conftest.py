from tests.legacy.conftest import legacy, make_user  # noqa: F401 - the quick account and protocol fixtures
