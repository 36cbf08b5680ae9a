"""Secrets into the app's environment at init: every REWEB_SECRET_<NAME> whose value is `ssm:<name or ARN>` or
`secretsmanager:<id or ARN>` (either optionally `#<key>` to pick one key of a JSON value) gives the app
`<NAME>=<value>`. SSM names may carry a version or label selector (`ssm:/name:3`, `ssm:/name:live`). SSM
parameters are read 10 names per call, SecureStrings decrypted. A missing or denied secret, or a value that no
process environment can carry (a NUL), fails init with an error naming the variable; no value ever reaches a log
line or an error message."""

from __future__ import annotations

import json
from collections.abc import Mapping

PREFIX = "REWEB_SECRET_"
SSM_BATCH = 10  # GetParameters takes at most 10 names


class SecretError(Exception):
    """One line naming the variable and why; never the value."""


def wanted(env: Mapping[str, str]) -> dict[str, tuple[str, str, str]]:
    """REWEB_SECRET_<NAME> -> (source, id, json key). Raises SecretError for a value of another form."""
    out = {}
    for variable, value in env.items():
        if not variable.startswith(PREFIX) or not value:
            continue
        name = variable[len(PREFIX):]
        source, colon, rest = value.partition(":")
        ident, _, key = rest.partition("#")
        if not name or not colon or source not in ("ssm", "secretsmanager") or not ident:
            raise SecretError(f"{variable}: expected ssm:<parameter name or ARN> or "
                              "secretsmanager:<secret id or ARN>, optionally followed by #<json key>")
        out[variable] = (source, ident, key)
    return out


def resolve(env: Mapping[str, str]) -> dict[str, str]:
    """The app's extra environment: NAME -> value. Nothing is imported or called when no secret is asked for."""
    asked = wanted(env)
    if not asked:
        return {}
    from .aws import AwsError, Credentials, call_json, endpoint, region_of

    region = region_of(env)
    try:
        credentials = Credentials.from_env(env)
    except AwsError as exc:
        raise SecretError(f"{next(iter(asked))}: {exc}") from None
    raw: dict[str, str] = {}
    url = endpoint(env, "SSM", "ssm", region)
    for batch in ssm_batches([ident for source, ident, _ in asked.values() if source == "ssm"]):
        names = sorted(batch.values())
        try:
            answer = call_json(url, "ssm", "AmazonSSM.GetParameters", {"Names": names, "WithDecryption": True},
                               credentials, region)
        except AwsError as exc:
            variable = next(v for v, (s, i, _) in asked.items() if s == "ssm" and i in names)
            raise SecretError(f"{variable}: {exc}") from None
        raw.update(("ssm:" + ident, value) for ident, value in ssm_values(batch, answer).items())
    url = endpoint(env, "Secrets Manager", "secretsmanager", region)
    for variable, (source, ident, _) in asked.items():
        if source != "secretsmanager" or "secretsmanager:" + ident in raw:
            continue
        try:
            answer = call_json(url, "secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": ident},
                               credentials, region)
        except AwsError as exc:
            raise SecretError(f"{variable}: {exc}") from None
        if "SecretString" not in answer:
            raise SecretError(f"{variable}: the secret has no string value (binary secrets are not supported)")
        raw["secretsmanager:" + ident] = str(answer["SecretString"])
    out = {}
    for variable, (source, ident, key) in asked.items():
        value = raw.get(f"{source}:{ident}")
        if value is None:
            raise SecretError(f"{variable}: the SSM parameter {ident!r} does not exist or is not readable")
        if key:
            try:
                document = json.loads(value)
                value = document[key] if isinstance(document, dict) else None
            except (ValueError, KeyError):
                value = None
            if not isinstance(value, str):
                raise SecretError(f"{variable}: the value is not a JSON object with a string under {key!r}")
        if "\0" in value:  # execve cannot pass it: a precise init error here, not a traceback at the spawn
            raise SecretError(f"{variable}: the value holds a NUL character, which no process environment can "
                              "carry")
        out[variable[len(PREFIX):]] = value
    return out


def ssm_key(ident: str) -> str:
    """The parameter an SSM reference names, the same for all its forms: a name with or without its leading
    slash, or an ARN, each optionally with a `:version` or `:label` selector (names hold no colon). It is what
    GetParameters answers with: the bare name, without the selector."""
    if ident.startswith("arn:"):
        ident = ident.split(":", 5)[-1]  # parameter/app/db[:selector]
        if ident.startswith("parameter/"):
            ident = ident[len("parameter"):]
    return ident.partition(":")[0].lstrip("/")


def ssm_batches(idents: list[str]) -> list[dict[str, str]]:
    """GetParameters batches as {ssm_key: reference}: at most 10 each, and never two references to the same
    parameter in one (`/a:1` and `/a:2` both come back named `/a`, so the answer could not tell them apart)."""
    batches: list[dict[str, str]] = []
    for ident in sorted(set(idents)):
        key = ssm_key(ident)
        batch = next((b for b in batches if key not in b and len(b) < SSM_BATCH), None)
        if batch is None:
            batch = {}
            batches.append(batch)
        batch[key] = ident
    return batches


def ssm_values(batch: dict[str, str], answer: dict[str, object]) -> dict[str, str]:
    """The reference -> value pairs a GetParameters answer holds, matched by the bare name (or the ARN)."""
    out = {}
    parameters = answer.get("Parameters")
    for parameter in parameters if isinstance(parameters, list) else []:
        if not isinstance(parameter, dict):
            continue
        name = parameter.get("Name") or parameter.get("ARN")
        ident = batch.get(ssm_key(name)) if isinstance(name, str) else None
        if ident is not None:
            out[ident] = str(parameter.get("Value", ""))
    return out
