from tests.legacy.conftest import make_user  # noqa: F401 - the quick account fixture
