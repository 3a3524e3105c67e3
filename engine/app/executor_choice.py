"""Choosing where collection runs from an ``--executor`` value (``local``, ``local:N``, ``dask://HOST:PORT``).

Kept apart from ``executors`` so that the Dask executor, which builds on the executor interface, is
imported only here and only when asked for.
"""

from __future__ import annotations

from typing import Final

from annexa.app.executors import DEFAULT_CLUSTER_TIMEOUT_S, CollectionExecutor, ExecutorError, LocalExecutor

DASK_SCHEME: Final = "dask://"


def open_executor(spec: str | None, *, timeout: float | None = None) -> CollectionExecutor:
    """The executor an ``--executor`` value names: ``local`` (default), ``local:N`` (N threads) or
    ``dask://HOST:PORT`` (a Dask scheduler; needs ``pip install annexa[dask]``). ``timeout``
    (``--executor-timeout``): how long a scan waits while a cluster has no worker; default 60 s."""
    if timeout is not None and timeout <= 0:
        raise ExecutorError(f"bad executor timeout {timeout:g}: write a number of seconds above 0")
    text = (spec or "local").strip()
    if text == "local":
        return LocalExecutor()
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ExecutorError(f"bad executor {text!r}: write local:N with N >= 1 threads")
        return LocalExecutor(int(count))
    if text.startswith(DASK_SCHEME):
        address = text.removeprefix(DASK_SCHEME)
        if not address:
            raise ExecutorError(f"bad executor {text!r}: write dask://HOST:PORT (the scheduler's address)")
        try:
            from annexa.app.dask_executor import DaskExecutor
        except ImportError as exc:
            raise ExecutorError(f"executor {text} needs Dask: pip install 'annexa[dask]' ({exc})") from exc
        return DaskExecutor.connect(f"tcp://{address}", timeout=timeout or DEFAULT_CLUSTER_TIMEOUT_S)
    raise ExecutorError(f"unknown executor {text!r}: write local, local:N or dask://HOST:PORT")
