from flask import g
from flask.views import MethodView

from ..services import wallets
from .base import Blueprint, PeeweePage
from .docs import errors
from .schemas import BalanceSchema, TransactionSchema
from .scopes import scope

blp = Blueprint("wallet", __name__, url_prefix="/api/v1/wallet", description="Wallet balance and ledger")


@blp.route("/balance")
class Balance(MethodView):
    @scope("read")
    @blp.response(200, BalanceSchema)
    @errors()
    @blp.doc(operationId="getBalance")
    def get(self):
        """The wallet balance"""
        return wallets.wallet_of(g.user)


@blp.route("/transactions")
class Transactions(MethodView):
    @scope("read")
    @blp.response(200, TransactionSchema(many=True))
    @blp.paginate(PeeweePage)
    @errors()
    @blp.doc(operationId="listTransactions")
    def get(self):
        """The ledger, newest first"""
        return wallets.transactions(g.user)
