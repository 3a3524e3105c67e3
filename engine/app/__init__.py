"""The application: a scan from configuration to recorded result, its executors and plugin wiring,
the result model every report renders, rule tests and ``annexa init``."""
