"""One module per command-line command; engine/cli.py wires them together."""
