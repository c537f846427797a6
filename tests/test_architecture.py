"""The house: the package's layers, and the import contract that keeps them.

`pyproject.toml` ([tool.importlinter]) lists the layers top to bottom; a module may
import only from its own room and the layers below it; the domain core, the schemas
and the processor import nothing of Faust, Kafka or ClickHouse; and no two sibling
modules import each other, directly or round about.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contract_holds() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_every_folder_of_the_package_says_what_it_owns_and_may_import() -> None:
    for init in sorted((ROOT / "stream_app").rglob("__init__.py")):
        text = init.read_text(encoding="utf-8")
        assert text.startswith('"""') and len(text.split('"""')[1]) > 80, f"{init} needs its one-paragraph docstring"
        if init.parent.name not in ("stream_app",):
            assert "May import" in text or "import" in text.split('"""')[1], f"{init}: say what it may import"
