"""Built-in evidence collectors, each a plugin registered like any third-party one."""
