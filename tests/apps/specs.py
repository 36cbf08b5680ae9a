"""The specs of the apps that more than one test module starts (test_app_<name>.py and the burst and browser
tests): shared here, as test modules do not import one another."""

from __future__ import annotations

from appkit import KIT, AppSpec, fresh_dir


def _prepare_dokuwiki() -> None:
    fresh_dir("/tmp/dokuwiki")


DOKUWIKI = AppSpec(
    name="dokuwiki",
    port=8005,
    wait_path="/doku.php",
    command=lambda base: [str(KIT / "dokuwiki/start.sh")],
    env={"DOKUWIKI_PORT": "8005"},
    prepare=_prepare_dokuwiki,
)


def _prepare_mediawiki() -> None:
    fresh_dir("/tmp/mediawiki")


MEDIAWIKI = AppSpec(
    name="mediawiki",
    port=8032,
    wait_path="/index.php?title=Special:Version",
    # $wgServer pinned to the URL the client uses, as a deployment sets it to its public origin.
    command=lambda base: ["env", f"MW_SERVER={base}", str(KIT / "mediawiki/start.sh")],
    env={"MW_PORT": "8032"},
    prepare=_prepare_mediawiki,
)


def _prepare_redmine() -> None:
    fresh_dir("/tmp/redmine")


REDMINE = AppSpec(
    name="redmine",
    port=8033,
    wait_path="/login",
    command=lambda base: [str(KIT / "redmine/start.sh")],
    env={"REDMINE_PORT": "8033"},
    prepare=_prepare_redmine,
    start_timeout=120.0,
    reweb_env={"REWEB_ASYNC_INIT": "true"},  # as the guide says
)
