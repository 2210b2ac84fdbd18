"""One state machine for every stateful subject (activations now; rentals can follow).

A Machine is a model, its TRANSITIONS (target state -> the states it may come from), the event
type of each target and the representation its events carry. move() is the only way a status
changes: a compare-and-set UPDATE along an allowed edge, in a transaction that holds the owner's
account lock (taken before the row is touched: services/events.py) and appends exactly one event,
plus whatever the caller's `then` adds (a refund and its ledger event). batch() does the same for
many rows of many accounts in one transaction (the poller).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import peewee

from ..compiled import compiled_executemany, compiled_rows, padded
from ..models.base import utcnow
from . import events

Then = Callable[[peewee.Model, events.Recording], None]


@dataclass(frozen=True)
class Machine:
    model: type[peewee.Model]
    transitions: dict[str, tuple[str, ...]]
    event_types: dict[str, str]  # target state -> event type
    represent: Callable[[peewee.Model], dict]  # the event payload: the subject as the API shows it
    columns: tuple[peewee.Field, ...]  # what a move reads back (RETURNING): at least what represent needs
    subject: str = "activation_id"  # the event column that names the row (events.Recording.add)

    def sources(self, target: str) -> tuple[str, ...]:
        return self.transitions[target]

    def move(
        self,
        row_id: int,
        user_id: int,
        target: str,
        changes: dict | None = None,
        then: Then | None = None,
        known: dict | None = None,
    ) -> peewee.Model | None:
        """Move one row of this owner to `target` from any state allowed to reach it, setting
        `changes` too; append its event and run `then(row, recording)` in the same transaction.
        The row as it is now (`known` attributes set on it before it is represented), or None
        when the row is not in a state that may move there (another change won)."""
        with events.recording(user_id) as recording:
            row = self._compare_and_set(row_id, user_id, target, changes or {})
            if row is None:
                return None
            for name, value in (known or {}).items():
                setattr(row, name, value)
            recording.add(user_id, self.event_types[target], self.represent(row), **{self.subject: row_id})
            if then is not None:
                then(row, recording)
        return row

    def _compare_and_set(self, row_id: int, user_id: int, target: str, changes: dict) -> peewee.Model | None:
        model, sources = self.model, self.sources(target)
        values = {**changes, "status": target, "updated_at": utcnow()}
        names = sorted(values)
        fields_ = [model._meta.fields[name] for name in names]
        rows = compiled_rows(
            f"move-{model.__name__}-{target}-{','.join(names)}",
            lambda: (
                model.update(values)
                .where((model.id == row_id) & (model.user == user_id) & model.status.in_(sources))
                .returning(*self.columns)
            ),
            *[f.db_value(values[f.name]) for f in sorted(fields_, key=_field_order(model))],
            row_id,
            user_id,
            *sources,
        )
        return rows[0] if rows else None

    @contextmanager
    def batch(self, user_ids) -> Iterator[Batch]:
        """Many moves of many accounts in one transaction: the accounts are locked (ascending),
        rows read under those locks cannot change status, so each move is known to apply."""
        with events.recording(*user_ids) as recording:
            moves = Batch(self, recording)
            yield moves
            moves.apply()


def _field_order(model):
    order = {f.name: n for n, f in enumerate(model._meta.sorted_fields)}
    return lambda f: order[f.name]


@dataclass
class Batch:
    machine: Machine
    recording: events.Recording
    pending: dict[tuple, list] = field(default_factory=lambda: defaultdict(list))

    def read(self, row_ids: list[int]) -> dict[int, peewee.Model]:
        """The rows, as the machine's columns show them (call it after the locks: see batch())."""
        model, ids = self.machine.model, padded(list(row_ids))
        rows = compiled_rows(
            f"batch-read-{model.__name__}-{len(ids)}",
            lambda: model.select(*self.machine.columns).where(model.id.in_(ids)),
            *ids,
        )
        return {row.id: row for row in rows}

    def move(self, row: peewee.Model, target: str, changes: dict | None = None) -> bool:
        """Queue the move of a row read by read(); False if its state may not reach target.
        The row's attributes take the new values, and its event is appended."""
        if row.status not in self.machine.sources(target):
            return False
        values = {**(changes or {}), "status": target, "updated_at": utcnow()}
        for name, value in values.items():
            setattr(row, name, value)
        self.pending[tuple(sorted(values))].append((row, values))
        return True

    def announce(self, row: peewee.Model) -> None:
        """Append the event of a row moved by move() (once its represented fields are final)."""
        machine = self.machine
        subject = {machine.subject: row.id}
        self.recording.add(row.user_id, machine.event_types[row.status], machine.represent(row), **subject)

    def apply(self) -> None:
        model = self.machine.model
        order = _field_order(model)
        for names, moves in self.pending.items():
            fields_ = sorted((model._meta.fields[name] for name in names), key=order)
            rows = [
                (*[f.db_value(values[f.name]) for f in fields_], row.id, *self.machine.sources(values["status"]))
                for row, values in moves
            ]
            for target in {values["status"] for _, values in moves}:
                group = [r for r, (_, values) in zip(rows, moves, strict=True) if values["status"] == target]
                compiled_executemany(
                    f"batch-move-{model.__name__}-{target}-{','.join(names)}",
                    lambda params, fields_=fields_, target=target: _batch_update(model, fields_, target, params, self),
                    group,
                )
        self.pending.clear()


def _batch_update(model, fields_, target, params, batch: Batch):
    values = dict(zip((f.name for f in fields_), params, strict=False))
    sources = batch.machine.sources(target)
    row_id = params[len(fields_)]
    return model.update({f: values[f.name] for f in fields_}).where((model.id == row_id) & model.status.in_(sources))
