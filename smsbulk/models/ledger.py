import peewee

from ..money import MoneyField
from .activations import Activation
from .base import BaseModel
from .rentals import RentalCharge
from .users import Wallet

KINDS = ("deposit", "purchase", "refund", "adjustment")


class LedgerEntry(BaseModel):
    """Append-only; the wallet balance always equals the sum of its entries."""

    wallet = peewee.ForeignKeyField(Wallet, backref="entries", on_delete="CASCADE", index=False)  # (wallet, id)
    kind = peewee.CharField(max_length=16)
    amount = MoneyField(constraints=[peewee.Check("amount <> 0")])
    balance_after = MoneyField()
    activation = peewee.ForeignKeyField(Activation, null=True, on_delete="SET NULL")
    rental_charge = peewee.ForeignKeyField(RentalCharge, null=True, on_delete="SET NULL")
    memo = peewee.CharField(max_length=255, default="")

    class Meta:
        # One purchase and at most one refund per activation, and per rental charge, enforced by
        # the database. (NULLs - deposits - are distinct under UNIQUE on both backends.)
        indexes = (
            (("activation", "kind"), True),
            (("rental_charge", "kind"), True),
            (("wallet", "id"), False),  # a wallet's entries newest first, by page or by cursor
        )
