"""What the adapter's cold start imports: the modules of the features that are off (S3 offload, secrets,
SnapStart) and the heavy standard modules stay out until a request needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
# Everything run_adapter() imports before the first invocation (cli.py, then what it pulls in).
ADAPTER_PATH = ("reweb.cli", "reweb.config", "reweb.log", "reweb.runtime", "reweb.adapter", "reweb.app",
                "reweb.extension", "reweb.events")
NOT_ON_THE_COLD_PATH = ("reweb.offload", "reweb.aws", "reweb.secrets", "reweb.snapstart", "reweb.local",
                        "xml", "http.client", "hashlib", "hmac", "ssl", "gzip", "typing", "dataclasses", "inspect",
                        "asyncio", "botocore", "boto3", "email")


def test_features_that_are_off_cost_no_import() -> None:
    # -I -S: no site-packages .pth hooks, as in the layer and the one-file executable.
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            + "; ".join(f"import {name}" for name in ADAPTER_PATH)
            + "; print('\\n'.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-I", "-S", "-c", code, str(SRC)], check=True, capture_output=True,
                                text=True).stdout.split())
    assert "reweb.adapter" in loaded  # the probe imported what it says
    heavy = sorted(name for name in loaded if name in NOT_ON_THE_COLD_PATH or (name.split(".")[0] in
                   NOT_ON_THE_COLD_PATH and not name.startswith("reweb")))
    heavy += sorted(name for name in loaded if name.startswith(tuple(n + "." for n in NOT_ON_THE_COLD_PATH)))
    assert heavy == [], f"imported on the adapter's cold path: {heavy}"
