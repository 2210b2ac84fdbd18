import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient


class PageClient(FlaskClient):
    """Each request in an app context of its own, as under a real server. In the test's app
    context (the `app` fixture holds one), every request would share one `g`, and with it
    Flask-Login's loaded user and flask-wtf's token of the request before."""

    def open(self, *args, **kwargs):
        outer = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(outer)


@pytest.fixture
def client(app):
    app.test_client_class = PageClient
    return app.test_client()
