"""Choosing where collection runs from an ``--executor`` value (``local``, ``local:N``, ``dask://HOST:PORT``).

Kept apart from ``executors`` so that the Dask executor, which builds on the executor interface, is
imported only here and only when asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from annexa.app.executors import DEFAULT_CLUSTER_TIMEOUT_S, CollectionExecutor, ExecutorError, LocalExecutor

if TYPE_CHECKING:
    from annexa.contract.kinds import KindRegistry
    from annexa.lang.ruleset import RuleSet
    from annexa.model.evidence import Evidence
    from annexa.model.findings import Finding
    from annexa.plugins.host import PluginHost

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


def evaluate_where(
    spec: str | None,
    ruleset: RuleSet,
    kinds: KindRegistry,
    evidence: Iterable[Evidence],
    *,
    now: datetime,
    collected: Mapping[str, str | None] | None = None,
    gaps: Mapping[str, Sequence[str]] | None = None,
    host: PluginHost | None = None,
    timeout: float | None = None,
) -> tuple[Finding, ...]:
    """The findings of :func:`annexa.lang.language.evaluate`, computed where an ``--executor`` value says:
    in this process for ``local`` (or none), on the workers of the Dask scheduler for ``dask://HOST:PORT``
    (the same findings in the same order; see ``DaskExecutor.evaluate``). ``kinds`` are the schemas the
    rules were compiled against and ``host`` the plugins that gave their functions (None: none).

    :raises ClusterError: the cluster had no worker for ``timeout`` seconds, or a partition failed.
    """
    if not (spec or "").strip().startswith(DASK_SCHEME):
        from annexa.lang.language import evaluate

        return evaluate(ruleset, evidence, now=now, collected=collected, gaps=gaps)
    from annexa.app.dask_executor import DaskExecutor

    executor = open_executor(spec, timeout=timeout)
    assert isinstance(executor, DaskExecutor)
    try:
        return executor.evaluate(ruleset, kinds, evidence, now=now, collected=collected, gaps=gaps, host=host)
    finally:
        executor.close()
