"""Compiles every module of the SAM build to bytecode that Lambda can use as it is.

    python scripts/build_bytecode.py [.aws-sam/build]

`sam build` ships sources only, and the zips `sam deploy` makes give every file a 1980 timestamp.
An ordinary (timestamp-checked) .pyc would then never match its source, and since /var/task and
/opt are read-only, every cold start would compile every module it imports, again. Unchecked-hash
.pyc files are used without looking at the source at all, which is right for files that never
change once deployed.

Each tree is compiled with the path Lambda puts it at (/var/task for a function, /opt/python for a
layer's Python content), so tracebacks name the deployed files. The interpreter must be the
runtime's version (the bytecode format changes between minor versions): Python 3.13 here.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import py_compile
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_DIR = ROOT / ".aws-sam" / "build"
MARKER = ".bytecode.json"  # read by bench/artifact.py


def runtime_version(build_dir: Path) -> tuple[int, int]:
    """The Python version the template's functions run on (Globals: Runtime: python3.X)."""
    template = (build_dir / "template.yaml").read_text()
    found = re.search(r"Runtime:\s*python(\d+)\.(\d+)", template)
    if not found:
        raise SystemExit(f"{build_dir / 'template.yaml'} names no python runtime")
    return int(found.group(1)), int(found.group(2))


def trees(build_dir: Path) -> list[tuple[Path, str]]:
    """(directory, where Lambda puts it) for every function and layer of the build."""
    found = []
    for directory in sorted(path for path in build_dir.iterdir() if path.is_dir()):
        if (directory / "python").is_dir():
            found.append((directory / "python", "/opt/python"))
        else:
            found.append((directory, "/var/task"))
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def missing_requirements(build_dir: Path) -> list[str]:
    """Pinned requirements of the project's layers (`layers/*/requirements.txt`) that no built layer
    holds. `sam build` caches a layer's dependencies by the requirements file's hash, and a failed
    resolution can leave that cache without the package that failed: later builds then succeed
    without it."""
    project = build_dir.parent.parent if build_dir.parent.name == ".aws-sam" else ROOT
    installed = {
        _normalized(dist.name.removesuffix(".dist-info").rpartition("-")[0]): dist.name.removesuffix(".dist-info")
        for layer in build_dir.iterdir()
        if (layer / "python").is_dir()
        for dist in (layer / "python").glob("*.dist-info")
    }
    missing = []
    for requirements in sorted((project / "layers").glob("*/requirements.txt")):
        for line in requirements.read_text().splitlines():
            pinned = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*==\s*([^\s;#]+)", line)
            if not pinned:
                continue
            name, version = pinned.groups()
            found = installed.get(_normalized(name))
            if found is None or found.rpartition("-")[2] != version:
                missing.append(f"{name}=={version}")
    return missing


def compile_tree(directory: Path, deployed_at: str) -> tuple[int, list[Path]]:
    """Compiles every .py under `directory`; answers (modules compiled, files that are not Python 3 source)."""
    sources = [path for path in directory.rglob("*.py") if "__pycache__" not in path.parts]
    compileall.compile_dir(
        directory,
        quiet=2,
        force=True,  # a .pyc copied from a working tree would otherwise pass as up to date
        workers=0,
        stripdir=str(directory),
        prependdir=deployed_at,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    failed = [source for source in sources if not Path(importlib.util.cache_from_source(str(source))).exists()]
    return len(sources) - len(failed), failed


def main() -> int:
    build_dir = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_BUILD_DIR
    if not (build_dir / "template.yaml").exists():
        print(f"no SAM build at {build_dir}: run `sam build` first", file=sys.stderr)
        return 1
    wanted = runtime_version(build_dir)
    if sys.version_info[:2] != wanted:
        print(
            f"bytecode must be made by Python {wanted[0]}.{wanted[1]} (the runtime's), not {sys.version.split()[0]}",
            file=sys.stderr,
        )
        return 1
    missing = missing_requirements(build_dir)
    if missing:
        print(
            f"the built layers lack {', '.join(missing)}: `sam build` kept a failed dependency resolution in its "
            "cache. Fix the pin, then `rm -rf .aws-sam` and build again.",
            file=sys.stderr,
        )
        return 1
    started = time.perf_counter()
    compiled = 0
    skipped: list[Path] = []
    for directory, deployed_at in trees(build_dir):
        count, failed = compile_tree(directory, deployed_at)
        compiled += count
        skipped += failed
    for path in skipped:
        # Not importable on the runtime either (templates, Python 2 examples shipped in packages).
        print(f"not compiled (not Python {wanted[0]}.{wanted[1]} source): {path.relative_to(build_dir)}")
    (build_dir / MARKER).write_text(
        json.dumps(
            {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": sys.version.split()[0],
                "invalidation_mode": "unchecked-hash",
                "compiled": compiled,
                "not_compiled": [str(path.relative_to(build_dir)) for path in skipped],
            },
            indent=2,
        )
    )
    print(f"bytecode: {compiled} modules compiled (unchecked-hash) in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
