"""Plugin discovery, failure handling by kind, conflict checks and the inventory."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from annexa.plugins import CollectorSpec, PluginError, ReporterSpec, RuleFunctionSpec, hookimpl
from annexa.plugins.host import PluginHost
from annexa.plugins.manager import PluginStatus, PluginWarning, make_plugin_manager

OBJECT = {"type": "object"}


def spec(name: str, kinds: dict[str, Any] | None = None, config_schema: Any = OBJECT) -> CollectorSpec:
    return CollectorSpec(
        name=name,
        version="1.0",
        kinds=kinds if kinds is not None else {f"{name.lower()}.thing": OBJECT},
        config_schema=config_schema,
        factory=lambda: None,  # type: ignore[arg-type,return-value]  # never called here
    )


class Provides:
    def __init__(self, *specs: CollectorSpec) -> None:
        self.specs = specs

    @hookimpl
    def annexa_collectors(self) -> Any:
        return list(self.specs)


def make_dist(
    site: Path, dist: str, version: str, modules: dict[str, str], entry_points: dict[str, str]
) -> None:
    """A real installed distribution: a module on disk plus a dist-info with entry_points.txt."""
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[annexa]\n{lines}", encoding="utf-8")


GOOD_PLUGIN = """
from annexa.plugins import CollectorSpec, hookimpl

@hookimpl
def annexa_collectors():
    yield CollectorSpec(name="{name}", version="2.0", kinds={{"{kind}": {{"type": "object"}}}},
                        config_schema={{"type": "object"}}, factory=object)
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("ANNEXA_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return folder


def test_entry_point_discovery_and_inventory(site: Path) -> None:
    make_dist(
        site,
        "annexa-acme",
        "2.0",
        {"acme_plugin": GOOD_PLUGIN.format(name="Acme", kind="acme.card")},
        {"acme": "acme_plugin"},
    )
    host = PluginHost(make_plugin_manager(builtins=(), search_path=[str(site)]))
    assert list(host.collectors()) == ["acme"]  # normalised to lower case
    [record] = host.inventory()
    assert (record.name, record.version, record.distribution, record.status) == (
        "acme",
        "2.0",
        "annexa-acme",
        PluginStatus.ACTIVE,
    )
    assert record.hooks == ("annexa_collectors",)
    assert record.collectors == (("acme", ("acme.card",)),)
    assert host.header() == "plugins: annexa-acme-2.0"


def test_broken_plugin_is_warned_listed_and_skipped(site: Path) -> None:
    make_dist(
        site,
        "annexa-broken",
        "0.1",
        {"broken_plugin": "import does_not_exist_anywhere\n"},
        {"broken": "broken_plugin"},
    )
    make_dist(
        site,
        "annexa-acme",
        "2.0",
        {"acme_plugin": GOOD_PLUGIN.format(name="acme", kind="acme.card")},
        {"acme": "acme_plugin"},
    )
    with pytest.warns(
        PluginWarning, match=r"skipping plugin 'broken' from annexa-broken 0\.1.*does_not_exist"
    ):
        pm = make_plugin_manager(builtins=(), search_path=[str(site)])
    host = PluginHost(pm)
    assert list(host.collectors()) == ["acme"]  # the good plugin still loads
    statuses = {r.name: (r.status, r.source.value) for r in host.inventory()}
    assert statuses == {
        "acme": (PluginStatus.ACTIVE, "distribution"),
        "broken": (PluginStatus.ERROR, "distribution"),
    }


def test_autoload_env_var_and_blocking(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(
        site,
        "annexa-acme",
        "2.0",
        {"acme_plugin": GOOD_PLUGIN.format(name="acme", kind="acme.card")},
        {"acme": "acme_plugin"},
    )
    blocked = PluginHost(make_plugin_manager(builtins=(), search_path=[str(site)], blocked=["ACME"]))
    assert blocked.collectors() == {}
    assert [(r.name, r.status) for r in blocked.inventory()] == [("acme", PluginStatus.BLOCKED)]
    monkeypatch.setenv("ANNEXA_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert PluginHost(make_plugin_manager(builtins=(), search_path=[str(site)])).inventory() == ()


def test_builtin_missing_module_or_dependency_is_unavailable(site: Path) -> None:
    (site / "needs_sdk.py").write_text("import some_cloud_sdk_xyz\n", encoding="utf-8")
    pm = make_plugin_manager(autoload=False, builtins=("not_written_yet_mod", "needs_sdk"))
    records = {r.name: r for r in PluginHost(pm).inventory()}
    assert records["not_written_yet_mod"].status is PluginStatus.UNAVAILABLE
    assert records["needs_sdk"].status is PluginStatus.UNAVAILABLE
    assert "some_cloud_sdk_xyz" in (records["needs_sdk"].message or "")
    assert records["needs_sdk"].source.value == "built-in"


def test_duplicate_collector_names_both_distributions(site: Path) -> None:
    make_dist(
        site,
        "annexa-one",
        "1.0",
        {"one_plugin": GOOD_PLUGIN.format(name="shared", kind="one.x")},
        {"one": "one_plugin"},
    )
    make_dist(
        site,
        "annexa-two",
        "3.1",
        {"two_plugin": GOOD_PLUGIN.format(name="Shared", kind="two.x")},
        {"two": "two_plugin"},
    )
    host = PluginHost(make_plugin_manager(builtins=(), search_path=[str(site)]))
    with pytest.raises(PluginError) as caught:
        host.collectors()
    message = str(caught.value)
    assert "collector 'shared' is provided by both" in message
    assert "annexa-one 1.0" in message
    assert "annexa-two 3.1" in message
    assert "please report this to the plugin's author" in message


def test_duplicate_kind_and_invalid_schemas_listed_together(
    annexa_host: PluginHost, register_plugin: Any
) -> None:
    register_plugin(Provides(spec("a", {"shared.kind": OBJECT})), name="first")
    register_plugin(
        Provides(
            spec("b", {"shared.kind": OBJECT}),
            spec("c", {"Bad Kind": OBJECT}, config_schema={"type": "no-such-type"}),
            spec("d", {"d.x": {"properties": []}}),
        ),
        name="second",
    )
    with pytest.raises(PluginError) as caught:
        annexa_host.collectors()
    message = str(caught.value)
    assert "evidence kind 'shared.kind' is declared by collector 'a'" in message
    assert "kind 'Bad Kind' is not a lower-case dotted name" in message
    assert "collector 'c': config schema: invalid JSON Schema" in message
    assert "collector 'd': schema of kind 'd.x': invalid JSON Schema at properties" in message


def test_unknown_hook_is_a_contract_violation(site: Path) -> None:
    source = "from annexa.plugins import hookimpl\n\n@hookimpl\ndef annexa_colectors():\n    return []\n"
    make_dist(site, "annexa-typo", "0.2", {"typo_plugin": source}, {"typo": "typo_plugin"})
    with pytest.raises(PluginError, match=r"annexa-typo 0\.2.*unknown hook"):
        make_plugin_manager(builtins=(), search_path=[str(site)])


def test_reporters_rule_functions_open_document_and_notifications(
    annexa_host: PluginHost, register_plugin: Any
) -> None:
    class Reader:
        def read(self) -> tuple[bytes, dict[str, Any]]:
            return b"policy", {"title": "AI policy"}

    class Extras:
        @hookimpl
        def annexa_reporters(self) -> Any:
            return [ReporterSpec(name="csv", suffix=".csv", render=lambda result: "a,b\n")]

        @hookimpl
        def annexa_rule_functions(self) -> Any:
            return [RuleFunctionSpec(name="double", function=lambda x: 2 * x, arity=1)]

        @hookimpl
        def annexa_open_document(self, uri: str) -> Any:
            return Reader() if uri.startswith("wiki://") else None

        @hookimpl
        def annexa_scan_finished(self, scan: Any) -> None:
            raise ConnectionError("webhook down")

    register_plugin(Extras(), name="extras")
    assert annexa_host.reporters()["csv"].render({}) == "a,b\n"
    assert annexa_host.rule_functions()["double"].function(4) == 8
    reader = annexa_host.open_document("wiki://space/page")
    assert reader is not None
    assert reader.read()[0] == b"policy"
    assert annexa_host.open_document("s3://bucket/key") is None
    with pytest.warns(PluginWarning, match="webhook down"):
        failures = annexa_host.scan_finished({"summary": {}})
    assert len(failures) == 1
    assert "ConnectionError" in failures[0]


def test_register_plugin_fixture_unregisters(annexa_pm: Any, register_plugin: Any) -> None:
    plugin = Provides(spec("x"))
    register_plugin(plugin, name="x")
    assert annexa_pm.is_registered(plugin)


# -- every hook goes through pluggy's hook caller: wrappers, order and monitoring reach plugin authors --

AUDIT_PLUGIN = """
from annexa.plugins import hookimpl

SEEN = []

@hookimpl(wrapper=True)
def annexa_collectors():
    results = yield
    SEEN.append(("collectors", [type(result).__name__ for result in results]))
    # An organisation's policy plugin: the 'hidden' collector is never offered, whoever provides it.
    return [[spec for spec in result if spec.name != "hidden"] for result in results]

@hookimpl(wrapper=True)
def annexa_scan_finished(scan):
    SEEN.append(("notify", "before"))
    try:
        return (yield)
    except Exception as exc:
        SEEN.append(("notify", "saw " + type(exc).__name__))
        raise
"""

NOTIFIERS = """
from annexa.plugins import CollectorSpec, hookimpl

SENT = []

@hookimpl
def annexa_collectors():
    for name in ("acme", "hidden"):
        yield CollectorSpec(name=name, version="1.0", kinds={name + ".card": {"type": "object"}},
                            config_schema={"type": "object"}, factory=object)

@hookimpl
def annexa_scan_finished(scan):
    SENT.append(scan["id"])
"""


def test_third_party_hookwrapper_wraps_registration_and_notification(site: Path) -> None:
    make_dist(site, "annexa-audit", "1.0", {"audit_wrapper": AUDIT_PLUGIN}, {"audit": "audit_wrapper"})
    make_dist(site, "annexa-acme", "2.0", {"acme_notifier": NOTIFIERS}, {"acme": "acme_notifier"})

    class Broken:
        @hookimpl
        def annexa_scan_finished(self, scan: Any) -> None:
            raise ConnectionError("webhook down")

    pm = make_plugin_manager(builtins=(), search_path=[str(site)])
    pm.register(Broken(), name="broken")
    host = PluginHost(pm)
    audit, acme = pm.get_plugin("audit"), pm.get_plugin("acme")

    assert list(host.collectors()) == ["acme"]  # the wrapper removed 'hidden'
    # The host's own innermost wrapper hands plugin wrappers lists of records, not spent generators.
    assert ("collectors", ["list"]) in audit.SEEN
    with pytest.warns(PluginWarning, match="webhook down"):
        failures = host.scan_finished({"id": "scan-1"})
    assert len(failures) == 1
    assert acme.SENT == ["scan-1"]  # the failing notifier did not stop the other one
    # The wrapper wrapped each notifier's call (the last registered, 'broken', is called first) and saw
    # the broken one fail.
    assert [event for hook, event in audit.SEEN if hook == "notify"] == [
        "before",
        "saw ConnectionError",
        "before",
    ]


def test_tryfirst_and_trylast_order_the_hook_calls(annexa_host: PluginHost, register_plugin: Any) -> None:
    calls: list[str] = []

    class Reader:
        def __init__(self, who: str) -> None:
            self.who = who

        def read(self) -> tuple[bytes, dict[str, Any]]:
            return self.who.encode(), {}

    def notifier(who: str, **order: bool) -> object:
        class Notifier:
            @hookimpl(**order)
            def annexa_scan_finished(self, scan: Any) -> None:
                calls.append(who)

            @hookimpl(**order)
            def annexa_open_document(self, uri: str) -> Any:
                return Reader(who)

        return Notifier()

    # Registered first (and last by name), so pluggy alone would call it last; tryfirst moves it ahead.
    register_plugin(notifier("first", tryfirst=True), name="c")
    register_plugin(notifier("plain"), name="b")
    register_plugin(notifier("last", trylast=True), name="a")
    assert annexa_host.scan_finished({}) == ()
    assert calls == ["first", "plain", "last"]
    reader = annexa_host.open_document("wiki://page")
    assert reader is not None
    assert reader.read()[0] == b"first"  # firstresult: the tryfirst plugin answers


def test_hookcall_monitoring_sees_every_hook_the_host_calls(
    annexa_pm: Any, annexa_host: PluginHost, register_plugin: Any
) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []
    results: dict[str, object] = {}

    def before(hook_name: str, impls: Any, kwargs: Any) -> None:
        seen.append((hook_name, tuple(impl.plugin_name for impl in impls if not impl.wrapper)))

    def after(outcome: Any, hook_name: str, impls: Any, kwargs: Any) -> None:
        results.setdefault(hook_name, outcome.get_result())

    class Everything:
        @hookimpl
        def annexa_collectors(self) -> Any:
            yield spec("acme")

        @hookimpl
        def annexa_reporters(self) -> Any:
            return [ReporterSpec(name="csv", suffix=".csv", render=lambda result: "")]

        @hookimpl
        def annexa_rule_functions(self) -> Any:
            return [RuleFunctionSpec(name="double", function=lambda x: 2 * x, arity=1)]

        @hookimpl
        def annexa_open_document(self, uri: str) -> Any:
            return None

        @hookimpl
        def annexa_scan_finished(self, scan: Any) -> None:
            return None

    register_plugin(Everything(), name="everything")
    undo = annexa_pm.add_hookcall_monitoring(before, after)
    try:
        annexa_host.collectors()
        annexa_host.reporters()
        annexa_host.rule_functions()
        annexa_host.open_document("s3://bucket/key")
        annexa_host.scan_finished({})
        annexa_host.inventory()
    finally:
        undo()
    assert sorted(set(seen)) == [
        (hook, ("everything",))
        for hook in (
            "annexa_collectors",
            "annexa_open_document",
            "annexa_reporters",
            "annexa_rule_functions",
            "annexa_scan_finished",
        )
    ]
    # The monitor sees the records themselves: the host's wrapper made the generator a list.
    collected = results["annexa_collectors"]
    assert isinstance(collected, list)
    assert [[item.name for item in result] for result in collected] == [["acme"]]


def test_plugin_that_fails_to_register_is_named(annexa_host: PluginHost, register_plugin: Any) -> None:
    class Fails:
        @hookimpl
        def annexa_collectors(self) -> Any:
            yield spec("ok")
            raise RuntimeError("boom while listing")

    register_plugin(Fails(), name="fails")
    with pytest.raises(PluginError, match=r"plugin 'fails'.*failed in annexa_collectors: RuntimeError: boom"):
        annexa_host.collectors()
    [record] = annexa_host.inventory()
    assert record.status is PluginStatus.ERROR
    assert "boom while listing" in (record.message or "")


def test_trace_env_prints_every_hook_call_briefly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANNEXA_TRACE_PLUGINS", "1")
    pm = make_plugin_manager(autoload=False, builtins=())
    pm.register(
        Provides(spec("acme", {"acme.card": {"type": "object", "description": "x" * 5000}})), name="acme"
    )

    class Fails:
        @hookimpl
        def annexa_scan_finished(self, scan: Any) -> None:
            raise RuntimeError("boom")

    pm.register(Fails(), name="fails")
    host = PluginHost(pm)
    host.collectors()
    with pytest.warns(PluginWarning):
        host.scan_finished({"summary": {}})
    lines = capsys.readouterr().err.splitlines()
    assert "annexa trace: annexa_collectors({}) -> [acme, annexa:host (wrapper)]" in lines
    assert "annexa trace: annexa_collectors returned [[CollectorSpec('acme')]]" in lines  # not its schemas
    assert "annexa trace: annexa_scan_finished raised RuntimeError: boom" in lines
