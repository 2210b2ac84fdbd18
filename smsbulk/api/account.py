"""The account the calling key belongs to."""

from flask import g
from flask.views import MethodView

from ..services import accounts
from .base import Blueprint
from .docs import errors
from .schemas import AccountSchema
from .scopes import scope

blp = Blueprint("account", __name__, url_prefix="/api/v1/account", description="Your account")


@blp.route("")
class Account(MethodView):
    @scope(None)
    @blp.doc(operationId="getAccount")
    @blp.response(200, AccountSchema)
    @errors()
    def get(self):
        """Email, role, creation time and the number of active keys (any key)"""
        return accounts.summary(g.caller.user_id)
