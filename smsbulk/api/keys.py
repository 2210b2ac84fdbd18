from flask import g
from flask.views import MethodView

from ..services import accounts
from .base import Blueprint
from .docs import errors
from .schemas import KeySchema

blp = Blueprint("keys", __name__, url_prefix="/api/v1/keys", description="API keys")


@blp.route("/current")
class CurrentKey(MethodView):
    @blp.response(200, KeySchema)
    @errors()
    @blp.doc(operationId="getCurrentKey")
    def get(self):
        """The calling key: name, prefix, quota, usage today and reset time"""
        return accounts.key_status(g.caller, g.usage)
