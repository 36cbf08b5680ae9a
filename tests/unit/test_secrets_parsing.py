"""secrets.py's pure part: which parameter an SSM reference names, the GetParameters batches, and matching the
answer (whose Name carries no selector) back to the references."""

from __future__ import annotations

import pytest

from reweb.secrets import SecretError, ssm_batches, ssm_key, ssm_values, wanted

ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter"


@pytest.mark.parametrize(("ident", "key"), [
    ("/app/db", "app/db"), ("/app/db:3", "app/db"), ("/app/db:stable", "app/db"), ("plain", "plain"),
    ("plain:2", "plain"), (f"{ARN}/app/db", "app/db"), (f"{ARN}/app/db:3", "app/db"),
    (f"{ARN}/app/db:live", "app/db"), (f"{ARN}/plain", "plain"),
    ("arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x/y:1", "x/y"),
])
def test_ssm_key_is_the_parameter_whatever_the_form(ident: str, key: str) -> None:
    assert ssm_key(ident) == key


def test_the_same_parameter_in_several_forms_goes_to_several_batches() -> None:
    """GetParameters answers `/a:1` and `/a:2` both as Name `/a`: one batch must not ask for both."""
    idents = ["/a", "/a:1", "/a:stable", f"{ARN}/a", "/b", *[f"/n{i}" for i in range(12)]]
    batches = ssm_batches(idents)
    assert sorted(ident for batch in batches for ident in batch.values()) == sorted(idents)
    for batch in batches:
        assert 0 < len(batch) <= 10
        assert all(ssm_key(ident) == key for key, ident in batch.items())
    assert len(batches) == 4  # the four forms of /a need four batches; the other 13 names fill them


def test_the_answer_is_matched_by_bare_name_or_arn() -> None:
    batch = {"app/db": "/app/db:3", "app/api": f"{ARN}/app/api:live", "plain": "plain"}
    answer: dict[str, object] = {"Parameters": [
        {"Name": "/app/db", "ARN": f"{ARN}/app/db", "Value": "v3", "Version": 3, "Selector": ":3"},
        {"Name": "/app/api", "ARN": f"{ARN}/app/api", "Value": "live-value"},
        {"ARN": f"{ARN}/plain", "Value": "no name field"},
        {"Name": "/unasked", "Value": "x"}, "not a dict", {"Name": 42, "Value": "odd"},
    ], "InvalidParameters": []}
    assert ssm_values(batch, answer) == {"/app/db:3": "v3", f"{ARN}/app/api:live": "live-value",
                                         "plain": "no name field"}
    assert ssm_values(batch, {"Parameters": "garbage"}) == {}


def test_a_selector_and_a_json_key_together() -> None:
    assert wanted({"REWEB_SECRET_X": "ssm:/app/json:2#token"}) == {"REWEB_SECRET_X": ("ssm", "/app/json:2", "token")}
    with pytest.raises(SecretError, match="REWEB_SECRET_X"):
        wanted({"REWEB_SECRET_X": "ssm:#token"})


def test_the_app_is_not_spawned_with_a_nul_in_any_variable(capsys: pytest.CaptureFixture[str]) -> None:
    """Whatever put it there: a one-line start error naming the variable (never the value), not posix_spawn's
    ValueError."""
    import threading

    from reweb.app import App, AppStartError
    from reweb.config import load
    from reweb.local.ports import free_port
    from reweb.log import Log

    app = App(load({"REWEB_APPLICATION_PORT": str(free_port())}, argv=("true",)), Log())
    app.reaper = threading.Thread(target=lambda: None)  # no supervision (subreaper, lifeline) inside pytest
    app.extra_env = {"OK": "fine", "HIDDEN_TOKEN": "top\0secret"}
    with pytest.raises(AppStartError, match="HIDDEN_TOKEN holds a NUL") as caught:
        app.start()
    assert "secret" not in str(caught.value) and "secret" not in capsys.readouterr().err
    assert app.pid == 0
