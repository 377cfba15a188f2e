"""How big each function is once Lambda unzips it with its layers, and the record that tests check.

    python -m scripts.layer_sizes            # measure the third-party layers, write layers/sizes.json, print the table
    python -m scripts.layer_sizes --report   # print the table from layers/sizes.json, measuring nothing

Lambda refuses a function whose code and layers, unzipped, exceed 250 MB. The third-party layers
(`layers/*/`) are built here as `sam build` builds them, for the template's architecture and
runtime and without Docker: pip with the Lambda platform's wheels for a `python3.x` build method,
the layer's own Makefile target for `makefile`; then every module is compiled to bytecode as
`make build` does (scripts/build_bytecode.py). Their sizes, and a digest of the files that decide
them, go to layers/sizes.json. The functions' own code and the domain layer (shared/) are this
repository's files, measured from the working tree whenever asked (sources plus their bytecode).

tests/infrastructure/test_function_sizes.py fails when a function would exceed the limit, and when
a layer's requirements or Makefile changed since its sizes were recorded: run this script then
(it needs the package index; the test does not).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
MANIFEST_PATH = ROOT / "layers" / "sizes.json"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # bytes: a function's code and all its layers, unzipped
MB = 1024 * 1024
PYC_HEADER_BYTES = 16
# The wheel platforms Lambda's Amazon Linux 2023 runtimes accept, per architecture.
PLATFORMS = {
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
}
# What a build leaves out of a source tree (aws-lambda-builders' exclusions that occur here).
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})


@dataclass(frozen=True)
class Layer:
    logical_id: str
    directory: Path
    build_method: str
    architecture: str

    @property
    def third_party(self) -> bool:
        """A layer built from pinned packages (requirements.txt or a Makefile), not from our sources."""
        return (self.directory / "requirements.txt").exists() or (self.directory / "Makefile").exists()

    def inputs_digest(self) -> str:
        digest = hashlib.sha256()
        for name in ("requirements.txt", "Makefile"):
            path = self.directory / name
            if path.exists():
                digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()


@dataclass(frozen=True)
class Function:
    logical_id: str
    directory: Path
    layers: tuple[str, ...]


def read_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    from cfnlint.decode import decode

    decoded, problems = decode(str(path))
    if decoded is None:
        raise SystemExit(f"cannot read {path}: {problems}")
    return dict(decoded)


def _refs(entries: list[Any]) -> tuple[str, ...]:
    return tuple(entry["Ref"] for entry in entries if isinstance(entry, dict) and "Ref" in entry)


def runtime_and_architecture(template: dict[str, Any]) -> tuple[str, str]:
    function_globals = template.get("Globals", {}).get("Function", {})
    return str(function_globals["Runtime"]), str(function_globals.get("Architectures", ["x86_64"])[0])


def layers(template: dict[str, Any], root: Path = ROOT) -> dict[str, Layer]:
    _, architecture = runtime_and_architecture(template)
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::LayerVersion":
            continue
        metadata = resource.get("Metadata", {})
        found[logical_id] = Layer(
            logical_id,
            root / str(resource["Properties"]["ContentUri"]),
            str(metadata.get("BuildMethod", "")),
            str(metadata.get("BuildArchitecture", architecture)),
        )
    return found


def functions(template: dict[str, Any], root: Path = ROOT) -> dict[str, Function]:
    """Every function with the layers it gets: SAM appends a function's own list to the Globals' list."""
    global_layers = _refs(template.get("Globals", {}).get("Function", {}).get("Layers", []))
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        own = _refs(properties.get("Layers", []))
        found[logical_id] = Function(logical_id, root / str(properties["CodeUri"]), global_layers + own)
    return found


# -- our own trees: measured from the working tree -----------------------------------------------
def _bytecode_bytes(source: Path, deployed_as: str) -> int:
    """The size of the .pyc `make build` writes for `source` (header, then the marshalled code)."""
    try:
        code = compile(source.read_bytes(), deployed_as, "exec", dont_inherit=True)
    except SyntaxError:
        return 0  # not compiled by the build either
    return PYC_HEADER_BYTES + len(marshal.dumps(code))


@lru_cache(maxsize=64)
def source_tree_bytes(directory: Path, deployed_at: str) -> int:
    """Files of one of our trees as the build ships it, and the bytecode compiled for each module."""
    total = 0
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or _SKIPPED_PARTS & set(relative.parts) or path.suffix == ".pyc":
            continue
        total += path.stat().st_size
        if path.suffix == ".py":
            total += _bytecode_bytes(path, f"{deployed_at}/{relative.as_posix()}")
    return total


# -- third-party layers: built as sam build does, then measured ----------------------------------
def build_layer(layer: Layer, runtime: str, destination: Path) -> Path:
    """Builds `layer` into `destination` (its ARTIFACTS_DIR); answers the tree Lambda mounts at /opt."""
    python_version = runtime.removeprefix("python")
    if layer.build_method == "makefile":
        make = shutil.which("make") or "make"  # as sam build runs it
        target = f"build-{layer.logical_id}"
        command = [make, "--silent", "--no-print-directory", "-f", str(layer.directory / "Makefile"), target]
        environment = {**os.environ, "ARTIFACTS_DIR": str(destination), "PYTHON": sys.executable}
        subprocess.run(command, check=True, env=environment)  # noqa: S603 - this repository's Makefile
    elif layer.build_method == runtime:
        platforms = [argument for platform in PLATFORMS[layer.architecture] for argument in ("--platform", platform)]
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
        wheels = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version, *platforms]
        requirements = ["-r", str(layer.directory / "requirements.txt")]
        command = [*pip, *wheels, "--target", str(destination / "python"), *requirements]
        subprocess.run(command, check=True)  # noqa: S603 - this interpreter's pip, this repository's pins
    else:
        raise SystemExit(f"{layer.logical_id}: build method {layer.build_method!r} is not one this script knows")
    from scripts.build_bytecode import compile_tree

    compile_tree(destination / "python", "/opt/python")
    return destination


def _tree_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file() and not path.is_symlink())


def measure_layer(layer: Layer, runtime: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"layer-{layer.logical_id}-") as scratch:
        built = build_layer(layer, runtime, Path(scratch))
        entries = {
            entry.name: _tree_bytes(entry) if entry.is_dir() else entry.stat().st_size
            for entry in (built / "python").iterdir()
        }
        total = _tree_bytes(built)
    largest = dict(sorted(((name, size) for name, size in entries.items() if size >= MB), key=lambda item: -item[1]))
    return {
        "inputs_sha256": layer.inputs_digest(),
        "build_method": layer.build_method,
        "architecture": layer.architecture,
        "bytes": total,
        "largest_entries": largest,
    }


def measure(template: dict[str, Any]) -> dict[str, Any]:
    runtime, architecture = runtime_and_architecture(template)
    measured = {
        layer.logical_id: measure_layer(layer, runtime)
        for layer in sorted(layers(template).values(), key=lambda layer: layer.logical_id)
        if layer.third_party
    }
    return {
        "what": "Unzipped bytes of each third-party layer as `make build` ships it (pip for the Lambda "
        "platform, then bytecode); written by `python -m scripts.layer_sizes`.",
        "measured_on": datetime.now(UTC).date().isoformat(),
        "runtime": runtime,
        "architecture": architecture,
        "layers": measured,
    }


# -- per function ----------------------------------------------------------------------------------
def function_sizes(template: dict[str, Any], manifest: dict[str, Any], root: Path = ROOT) -> dict[str, dict[str, int]]:
    """{function: {part: bytes}}: its own code and each of its layers."""
    known = layers(template, root)
    sizes = {}
    for function in functions(template, root).values():
        parts = {"code": source_tree_bytes(function.directory, "/var/task")}
        for layer_id in function.layers:
            layer = known[layer_id]
            if layer.third_party:
                parts[layer_id] = int(manifest["layers"][layer_id]["bytes"])
            else:
                parts[layer_id] = source_tree_bytes(layer.directory, "/opt/python")
        sizes[function.logical_id] = parts
    return sizes


def report(template: dict[str, Any], manifest: dict[str, Any]) -> str:
    lines = [f"{'function':<28} {'code + layers (MB)':>18}  parts (MB)"]
    for name, parts in sorted(function_sizes(template, manifest).items(), key=lambda item: -sum(item[1].values())):
        total = sum(parts.values())
        flag = "" if total <= LAMBDA_UNZIPPED_LIMIT else "  OVER THE 250 MB LIMIT"
        detail = ", ".join(f"{part} {size / MB:.1f}" for part, size in parts.items())
        lines.append(f"{name:<28} {total / MB:>18.1f}  {detail}{flag}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", action="store_true", help="print the table from the recorded sizes only")
    options = parser.parse_args(argv)
    template = read_template()
    if options.report:
        manifest = json.loads(MANIFEST_PATH.read_text())
    else:
        manifest = measure(template)
        MANIFEST_PATH.write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"wrote {MANIFEST_PATH.relative_to(ROOT)}")
    print(report(template, manifest))
    over = [
        name
        for name, parts in function_sizes(template, manifest).items()
        if sum(parts.values()) > LAMBDA_UNZIPPED_LIMIT
    ]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
