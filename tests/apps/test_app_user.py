"""The apps run as a user of this run's own: another program's processes and files under the shared name
`reweb-app` (or an earlier run's) are neither counted as this run's leftovers nor killed by its teardown."""

from __future__ import annotations

import contextlib
import pwd
import subprocess

import pytest
from appkit import APP_USER, as_user, user_pids, written_outside_tmp

pytestmark = pytest.mark.apps


def test_another_programs_reweb_app_processes_are_not_this_runs() -> None:
    created = False
    try:
        pwd.getpwnam("reweb-app")
    except KeyError:  # another program's user, as an earlier install.sh made it
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/tmp",
                        "--shell", "/usr/sbin/nologin", "reweb-app"], check=True, capture_output=True)
        created = True
    # Each says "up" once it runs as its user (setpriv has switched before the shell starts).
    up = ["sh", "-c", "echo up; exec sleep 60"]
    other = subprocess.Popen(["setpriv", "--reuid=reweb-app", "--regid=reweb-app", "--clear-groups", "--", *up],
                             stdout=subprocess.PIPE)
    ours = subprocess.Popen(as_user(up), stdout=subprocess.PIPE)
    try:
        assert other.stdout is not None and ours.stdout is not None
        assert other.stdout.readline() == b"up\n" and ours.stdout.readline() == b"up\n"
        assert APP_USER != "reweb-app"
        pids = user_pids()
        assert other.pid not in pids, f"another program's process of reweb-app counted as this run's ({APP_USER})"
        assert ours.pid in pids
        assert written_outside_tmp() == []
    finally:
        for process in (other, ours):
            process.kill()
            process.communicate(timeout=10)
        if created:
            with contextlib.suppress(Exception):
                subprocess.run(["userdel", "reweb-app"], check=False, capture_output=True)
