"""Fuzz: broken rule text only ever gives diagnostics, never another exception."""

from __future__ import annotations

from conftest import registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annexa.lang.language import compile_rules
from annexa.lang.ruleset import RuleSource
from annexa.model.diagnostics import DiagnosticError

VALID = """param min_capture = 10
param window = 365d
control A.6.2.8 "AI system recording of event logs" {
  rule capture "Endpoints capture data" {
    severity high
    for each x in svc where x.tags["env"] == "prod" and x.name != null
    require x.on and x.n >= min_capture or exists i in x.items where i.v > 1
    expect at least 1
    message "svc {x.name}: {x.n}% {x.tags[\\"env\\"]}"
    remediation "turn it on"
  }
  rule cards {
    for each mv in model_version where "production" in mv.aliases
    require exists c in model_card where c.model == mv.model_name and age(c.updated) <= window
      and count(i in mv.aliases where lower(i) matches "^p") >= 1
      and all d in model_card where d.model == mv.model_name satisfy d.owner startswith "team-"
    message "model {mv.model_name} v{mv.version} has no card"
  }
}
"""
KINDS = registry()


def compile_text(text: str) -> None:
    """Compile, or fail only with a DiagnosticError that carries diagnostics and renders."""
    caught: DiagnosticError | None = None
    try:
        compile_rules([RuleSource("f.rule", text)], KINDS, {"window": "30d"})
    except DiagnosticError as error:
        caught = error
    if caught is not None:
        assert caught.diagnostics
        caught.render()


def test_the_seed_file_is_valid() -> None:
    compile_text(VALID)
    assert len(compile_rules([RuleSource("f.rule", VALID)], KINDS).rules) == 2


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        width = draw(st.integers(1, 8))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if action == "delete":
            text = text[:at] + text[at + width :]
        elif action == "duplicate":
            text = text[:at] + text[at : at + width] * 2 + text[at + width :]
        elif action == "swap" and at + 1 < len(text):
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
        else:
            text = (
                text[:at] + draw(st.sampled_from(list('{}()[]".\\#@$ \n\t=<>!-0123456789dxz_'))) + text[at:]
            )
    return text


FAST = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(mutated())
def test_mutated_rule_files_only_give_diagnostics(text: str) -> None:
    compile_text(text)


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_only_give_diagnostics(data: bytes) -> None:
    compile_text(data.decode("utf-8", errors="replace"))


@FAST
@given(
    st.text(
        alphabet=st.sampled_from(list('controlruequiAx.6 2"{}()[]=<>!#\\\n-_09dexistsalnotandor')),
        max_size=200,
    )
)
def test_random_token_soup_only_gives_diagnostics(text: str) -> None:
    compile_text(text)
