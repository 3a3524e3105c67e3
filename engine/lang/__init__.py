"""The rule language: grammar, parser, checker, compiler and evaluator. Pure: evidence in, findings out.

Imports ``annexa.model`` and ``annexa.contract``; never plugins, collectors, the store or the network."""
