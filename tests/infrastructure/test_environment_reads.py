"""Configuration is read in one place: nothing in shared/atelier or functions/ reads the process
environment except `atelier/settings.py`, so every setting a function uses is a named, typed field
(or, for the tracer, a named function) of that module.

The local runtime (local/) is not application code: it sets the environment of the functions it
hosts and reads its own command-line settings, so it is not scanned."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = (ROOT / "shared" / "atelier", ROOT / "functions")
SETTINGS = ROOT / "shared" / "atelier" / "settings.py"

# Files allowed to read the environment besides settings.py, each with the reason. Keep it empty.
ALLOWED: dict[str, str] = {}


def environment_reads(source: str) -> list[int]:
    """Lines that touch `os.environ`, call `os.getenv`/`os.putenv`, or import either from `os`."""
    reads = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
    lines = []
    for node in ast.walk(ast.parse(source)):
        touches = (
            isinstance(node, ast.Attribute)
            and node.attr in reads
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        imports = isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name in reads for a in node.names)
        if touches or imports:
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_each_way_of_reading_the_environment():
    source = (
        "import os\nfrom os import environ\n"
        "a = os.environ['A']\nb = os.getenv('B')\nc = os.environ.get('C')\nd = os.path.join('x')\n"
    )
    assert environment_reads(source) == [2, 3, 4, 5]


def test_nothing_but_settings_reads_the_environment():
    found = []
    for directory in SCANNED:
        for path in sorted(directory.rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if path == SETTINGS or relative in ALLOWED:
                continue
            found += [f"{relative}:{line}" for line in environment_reads(path.read_text())]
    assert found == [], "read configuration through atelier.settings instead: " + ", ".join(found)
