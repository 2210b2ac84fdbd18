"""The job of the queue's ceiling in `make bench`: it does nothing, so only RQ's own cost is measured."""


def noop(n: int) -> int:
    return n
