"""Structured logs: JSON lines off a terminal, with Vietnamese as it is written."""

from __future__ import annotations

import json
import subprocess
import sys


def test_json_log_lines_keep_vietnamese_diacritics_unescaped():
    code = ("from stream_app import logs; logs.configure('json'); import structlog; "
            "structlog.get_logger('t').error('command.failed', detail='không tìm thấy Chi nhánh huyện Tân Biên')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    line = done.stderr.strip().splitlines()[-1]
    assert "Chi nhánh huyện Tân Biên" in line and "\\u" not in line
    assert json.loads(line)["detail"] == "không tìm thấy Chi nhánh huyện Tân Biên"
