"""Settings is a plain frozen class (no dataclasses on the cold-start path): keep it consistent with SPECS."""

import pytest

from reweb.config import SETTING_FIELDS, SPECS, Settings


def test_every_spec_has_a_field_with_a_default() -> None:
    for spec in SPECS:
        assert spec.field in SETTING_FIELDS
    for name in SETTING_FIELDS:
        assert hasattr(Settings, name), f"Settings.{name} has no default"


def test_settings_are_frozen_and_compare_by_value() -> None:
    settings = Settings(port=9000)
    with pytest.raises(AttributeError):
        settings.port = 1
    assert settings == Settings(port=9000) and settings != Settings(port=9001)
    with pytest.raises(TypeError):
        Settings(no_such_field=1)
