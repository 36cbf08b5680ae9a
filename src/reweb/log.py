"""Lambda-style logging: one line per event that matters, text or JSON, filtered by level.

Deliberately not the `logging` module: one write per line, nothing imported, nothing on the hot path
unless the level asks for it.
"""

from __future__ import annotations

import json
import os
import sys
import time

TYPE_CHECKING = False  # typing itself costs milliseconds of import at every cold start
if TYPE_CHECKING:
    from typing import Any

LEVELS = {"TRACE": 0, "DEBUG": 10, "INFO": 20, "WARN": 30, "WARNING": 30, "ERROR": 40, "FATAL": 50}


class Log:
    def __init__(self, level: str = "INFO", json_format: bool = False) -> None:
        self.threshold = LEVELS.get(level.upper(), 20)
        self.json_format = json_format
        self.debug_enabled = self.threshold <= LEVELS["DEBUG"]

    @classmethod
    def from_env(cls, debug: bool = False) -> Log:
        level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO")
        if debug:
            level = "DEBUG"
        return cls(level, os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON")

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if LEVELS[level] < self.threshold:
            return
        if self.json_format:
            record: dict[str, Any] = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
                "level": level,
                "logger": "reweb",
                "message": message,
            }
            record.update(fields)
            line = json.dumps(record, default=str)
        else:
            extra = " ".join(f"{key}={value}" for key, value in fields.items())
            line = f"[reweb] {level} {message}" + (f" {extra}" if extra else "")
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must never take the adapter down

    def debug(self, message: str, **fields: Any) -> None:
        if self.debug_enabled:
            self._emit("DEBUG", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._emit("INFO", message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        self._emit("WARN", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._emit("ERROR", message, fields)


def parse(line: str) -> dict[str, Any] | None:
    """A line that Log wrote, read back: level, message and fields; None for any other line (the app's output).

    Programs that run reweb and need to know what happened (`reweb init`, `reweb local`) read these fields, never
    the wording of the message. The JSON format gives them exactly; in the text format a field's value runs to the
    next ` name=` (text is for people: a reader that needs the fields sets AWS_LAMBDA_LOG_FORMAT=JSON)."""
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except ValueError:
            return None
        if not isinstance(record, dict) or record.get("logger") != "reweb" or record.get("level") not in LEVELS:
            return None
        return record
    if not line.startswith("[reweb] "):
        return None
    level, _, rest = line[len("[reweb] "):].partition(" ")
    if level not in LEVELS:
        return None
    import re  # only the readers of logs pay for it, never the adapter

    parts = re.split(r" ([a-z_][a-z0-9_]*)=", " " + rest)
    fields: dict[str, Any] = dict(zip(parts[1::2], parts[2::2], strict=True))
    return {"level": level, "message": parts[0].strip(), **fields}
