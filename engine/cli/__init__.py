"""The ``annexa`` command: ``main.py`` is the composition root, one module per command in ``commands/``."""
