from __future__ import annotations

import harness
from harness import errors, results


def test_all_is_complete_and_importable() -> None:
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name
    expected = {
        "HarnessConfig",
        "Result",
        "Status",
        "Severity",
        "RunRecord",
        "StageSummary",
        "Provenance",
        "SCHEMA_VERSION",
        "Engine",
        "__version__",
        "Redactor",
    }
    assert expected <= set(harness.__all__)
    # every public error and results type is re-exported
    assert set(errors.__all__) <= set(harness.__all__)
    assert set(results.__all__) <= set(harness.__all__)
    assert len(set(harness.__all__)) == len(harness.__all__)


def test_engine_is_lazy_and_version_is_set() -> None:
    from harness.engine import Engine

    assert harness.Engine is Engine
    assert harness.__version__ not in ("", None)


def test_submodules_are_not_shadowed() -> None:
    import harness.redact

    assert harness.redact.Redactor is harness.Redactor


def test_there_is_no_process_wide_redactor() -> None:
    """One redactor per run, passed down: a global one would mix runs' secrets (issue 18)."""
    import harness.redact

    assert not {"default_redactor", "register_secret", "redact"} & set(vars(harness.redact))
