"""``python -m stepwise``: the ``stepwise`` command (see :mod:`stepwise.cli`)."""

from stepwise.cli import run

run()
