"""Tests of the AWS collector (a package, so its conftest does not shadow tests/collectors/conftest.py)."""
