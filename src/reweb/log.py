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
