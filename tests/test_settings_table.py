"""The README's settings table agrees with :class:`chalicelib.settings.Settings`: every setting is
listed exactly once, with the default the code uses (the field's, or its AWS-stage one)."""

from __future__ import annotations

import re
from pathlib import Path

from chalicelib import settings
from chalicelib.settings import PROJECT_ROOT, Settings

README = PROJECT_ROOT / "README.md"
TICKED = re.compile(r"`([^`]+)`")


def settings_rows(text: str) -> list[tuple[str, str]]:
    """(name cell, default cell) of each row of the table under ``## Settings``."""
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [(cells[1], cells[2]) for cells in (row.split("|") for row in rows)]


def names_in(cell: str) -> list[str]:
    """The settings a name cell lists (aliases in parentheses are not listed settings)."""
    return TICKED.findall(re.sub(r"\([^)]*\)", "", cell))


def rendered(field: str, value: object) -> str:
    if field in settings.STAGE_TEMPLATE_DEFAULTS:
        return settings.STAGE_TEMPLATE_DEFAULTS[field].replace("{stage}", "<STAGE>")
    if isinstance(value, Path):
        return str(value.relative_to(PROJECT_ROOT))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def documented_defaults() -> dict[str, str]:
    """Each listed setting -> its default cell (split when a row lists several settings)."""
    found: dict[str, str] = {}
    for name_cell, default_cell in settings_rows(README.read_text()):
        names = names_in(name_cell)
        parts = [part.strip() for part in default_cell.split(", ")] if len(names) > 1 else [default_cell.strip()]
        if len(parts) != len(names):
            parts = parts[:1] * len(names)
        for name, part in zip(names, parts, strict=True):
            assert name not in found, f"{name} is listed twice in the README's settings table"
            found[name] = part
    return found


def test_every_setting_is_listed_once() -> None:
    documented = documented_defaults()
    missing = [settings.env_name(field) for field in Settings._fields if settings.env_name(field) not in documented]
    assert missing == []


def test_rows_that_are_not_settings_are_secrets() -> None:
    text = README.read_text()
    fields = {settings.env_name(field) for field in Settings._fields}
    for name_cell, _ in settings_rows(text):
        extra = [name for name in names_in(name_cell) if name not in fields]
        assert not extra or "🔒" in name_cell, f"{extra}: not a Settings field and not a secret"


def test_documented_defaults_are_the_code_defaults() -> None:
    documented = documented_defaults()
    for field in Settings._fields:
        cell = documented[settings.env_name(field)]
        expected = {rendered(field, settings.default_for(field, stage)) for stage in ("local", "dev")} - {""}
        assert set(TICKED.findall(cell)) == expected, f"{settings.env_name(field)}: README says {cell!r}"


def test_load_settings_uses_the_single_defaults(monkeypatch) -> None:  # noqa: ANN001
    for field in Settings._fields:
        monkeypatch.delenv(settings.env_name(field), raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("STAGE", "local")
    assert settings.load_settings() == Settings()._replace(metrics_namespace="ai-backend/local",
                                                           local_data_dir=Settings().local_data_dir.resolve())
    monkeypatch.setenv("STAGE", "prod")
    prod = settings.load_settings()
    assert (prod.ssm_prefix, prod.task_store, prod.worker_lambda_arn) == ("/collections", "dynamodb", "")
    assert prod.metrics_namespace == "ai-backend/prod"


def test_the_checker_catches_a_drifted_default() -> None:
    row = "| `GENERATOR_LEASE_SECONDS` | `120` | lease |"
    (name_cell, default_cell), = settings_rows(f"\n## Settings\n\n{row}\n")
    assert names_in(name_cell) == ["GENERATOR_LEASE_SECONDS"]
    assert TICKED.findall(default_cell) != [rendered("generator_lease_seconds", Settings().generator_lease_seconds)]
