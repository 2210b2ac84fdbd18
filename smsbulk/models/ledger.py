import peewee

from ..money import MoneyField
from .activations import Activation
from .base import BaseModel, index_where_set
from .rentals import RentalCharge
from .users import Wallet

KINDS = ("deposit", "purchase", "refund", "adjustment")


class LedgerEntry(BaseModel):
    """Append-only; the wallet balance always equals the sum of its entries."""

    wallet = peewee.ForeignKeyField(Wallet, backref="entries", on_delete="CASCADE", index=False)  # (wallet, id)
    kind = peewee.CharField(max_length=16)
    amount = MoneyField(constraints=[peewee.Check("amount <> 0")])
    balance_after = MoneyField()
    # Found by the partial unique indexes below: no index of their own.
    activation = peewee.ForeignKeyField(Activation, null=True, on_delete="SET NULL", index=False)
    rental_charge = peewee.ForeignKeyField(RentalCharge, null=True, on_delete="SET NULL", index=False)
    memo = peewee.CharField(max_length=255, default="")

    class Meta:
        indexes = ((("wallet", "id"), False),)  # a wallet's entries newest first, by page or by cursor


# One purchase and at most one refund per activation, and per rental charge, enforced by the
# database. Each index holds only the rows that name one: an entry is in one of them at most.
index_where_set(LedgerEntry.activation, LedgerEntry.kind, unique=True)
index_where_set(LedgerEntry.rental_charge, LedgerEntry.kind, unique=True)
