"""Metamorphic tests over the demo estate: making evidence worse never makes a control look better.

- ``estate``: copy examples/ with an offline configuration and scan it in process (no store, fixed clock);
- ``mutations``: the mutations of each evidence format (delete, garble, hollow, strip metadata, demote,
  drop a field);
- ``run``: the suite on two worker processes; ``python -m tests.metamorphic.run`` prints its report;
- ``test_monotonic``: the property, under ``make test``.
"""
