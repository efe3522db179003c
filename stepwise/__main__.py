"""``python -m stepwise``: the ``stepwise`` command (see :mod:`stepwise.cli`)."""

from stepwise.cli import main

raise SystemExit(main())
