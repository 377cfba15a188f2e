"""The built artifact (`make build`: `sam build`, then bytecode): what each function ships, its size,
and a copy of it this machine can import.

    python -m bench.artifact [--build-dir .aws-sam/build]

Lambda unzips a function to /var/task and each layer to /opt (a Python layer's modules under
/opt/python). The built function directory and the built layers' `python/` directories are those
trees. The layers are built for arm64; on another machine their compiled extension modules cannot
load, so `importable_copy` makes a copy in which each extension module is replaced by this
machine's build of the same package version (from the running interpreter's site-packages). Every
Python module and every `.pyc` stays the built one, which is what the cold-start figure is about.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.figures import INFO, MET, MISSED, Figure, write

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_DIR = ROOT / ".aws-sam" / "build"
MARKER = ".bytecode.json"  # written by scripts/build_bytecode.py
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function and all its layers, unzipped
MB = 1024 * 1024


@dataclass(frozen=True)
class BuiltFunction:
    logical_id: str
    directory: Path
    module: str
    layers: tuple[str, ...]


def read_template(build_dir: Path) -> dict[str, Any]:
    from cfnlint.decode import decode

    decoded, problems = decode(str(build_dir / "template.yaml"))
    if decoded is None:
        raise RuntimeError(f"cannot read {build_dir / 'template.yaml'}: {problems}")
    return dict(decoded)


def built_functions(build_dir: Path) -> list[BuiltFunction]:
    template = read_template(build_dir)
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    found = []
    for logical_id, resource in sorted(template["Resources"].items()):
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module = str(properties["Handler"]).rpartition(".")[0]
        # SAM appends a function's own layers to the Globals' list.
        layers = [*global_layers, *properties.get("Layers", [])]
        refs = tuple(layer["Ref"] for layer in layers if isinstance(layer, dict) and "Ref" in layer)
        found.append(BuiltFunction(logical_id, build_dir / str(properties["CodeUri"]), module, refs))
    return found


def layer_ids(build_dir: Path) -> list[str]:
    template = read_template(build_dir)
    return sorted(
        name for name, body in template["Resources"].items() if body["Type"] == "AWS::Serverless::LayerVersion"
    )


def build_state(build_dir: Path) -> tuple[bool, str]:
    """(usable, what it is): a complete build whose bytecode step ran."""
    if not (build_dir / "template.yaml").exists():
        return False, f"no build at {build_dir} (`make build` has not run, or `sam build` failed)"
    functions = built_functions(build_dir)
    missing = [f.logical_id for f in functions if not (f.directory / f"{f.module}.py").exists()]
    missing += [layer for layer in layer_ids(build_dir) if not (build_dir / layer / "python").is_dir()]
    if missing:
        return False, f"incomplete build at {build_dir}: {', '.join(missing)} missing (`sam build` failed?)"
    from scripts.build_bytecode import missing_requirements

    lacking = missing_requirements(build_dir)
    if lacking:
        return False, f"the build at {build_dir} lacks {', '.join(lacking)} (`sam build` cached a failed resolution)"
    marker = build_dir / MARKER
    if not marker.exists():
        return False, f"{build_dir} has no bytecode: `sam build` ran alone, not `make build`"
    details = json.loads(marker.read_text())
    return True, f"built {details.get('built_at', '?')}, {details.get('compiled', '?')} modules compiled"


# -- sizes -----------------------------------------------------------------------------------------
def tree_bytes(directory: Path) -> tuple[int, int]:
    """(all bytes, bytes of .pyc) under a directory."""
    total = pyc = 0
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total += size
            if path.suffix == ".pyc":
                pyc += size
    return total, pyc


def sizes(build_dir: Path) -> dict[str, Any]:
    layers = {layer: tree_bytes(build_dir / layer) for layer in layer_ids(build_dir)}
    functions = {}
    for function in built_functions(build_dir):
        own, own_pyc = tree_bytes(function.directory)
        with_layers = own + sum(layers[layer][0] for layer in function.layers if layer in layers)
        functions[function.logical_id] = {"bytes": own, "pyc": own_pyc, "with_layers": with_layers}
    return {"layers": {k: {"bytes": v[0], "pyc": v[1]} for k, v in layers.items()}, "functions": functions}


def size_figures(build_dir: Path) -> list[Figure]:
    usable, state = build_state(build_dir)
    if not usable:
        return [Figure("artifact", "artifact sizes", "function + layers <= 250 MB unzipped", state, "pending", "")]
    measured = sizes(build_dir)
    how = "bytes on disk under `.aws-sam/build/<id>` after `make build` (what the zip unpacks to)"
    rows = []
    for layer, numbers in measured["layers"].items():
        result = f"{numbers['bytes'] / MB:.1f} MB ({numbers['pyc'] / MB:.1f} MB of it .pyc)"
        rows.append(Figure("artifact", f"layer {layer}", "-", result, INFO, how, numbers))
    largest = max(measured["functions"].values(), key=lambda numbers: numbers["with_layers"])
    for name, numbers in measured["functions"].items():
        result = f"{numbers['bytes'] / 1024:.1f} KB; with its layers {numbers['with_layers'] / MB:.1f} MB"
        rows.append(Figure("artifact", f"function {name}", "-", result, INFO, how, numbers))
    verdict = MET if largest["with_layers"] <= LAMBDA_UNZIPPED_LIMIT else MISSED
    rows.append(
        Figure(
            "artifact",
            "largest function with its layers",
            "<= 250 MB unzipped (Lambda's limit)",
            f"{largest['with_layers'] / MB:.1f} MB",
            verdict,
            how,
        )
    )
    return rows


# -- an importable copy ----------------------------------------------------------------------------
def _host_site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _is_extension(path: Path) -> bool:
    return path.suffix == ".so" or ".so." in path.name


def importable_copy(build_dir: Path, destination: Path) -> dict[str, Any]:
    """Copies the built layers and functions to `destination`, with this machine's extension
    modules in place of the built ones where the package version matches. Answers what was swapped."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(build_dir, destination, symlinks=True)
    host = _host_site_packages()
    swapped: list[str] = []
    mismatched: list[str] = []
    for layer in layer_ids(destination):
        python = destination / layer / "python"
        for dist_info in python.glob("*.dist-info"):
            name, _, built_version = dist_info.name.removesuffix(".dist-info").rpartition("-")
            try:
                host_dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
            files = [python / str(entry) for entry in (metadata.Distribution.at(dist_info).files or [])]
            built_extensions = [path for path in files if _is_extension(path)]
            if not built_extensions:
                continue
            if host_dist.version != built_version:
                mismatched.append(f"{name} {built_version} (here {host_dist.version})")
                continue
            for built in built_extensions:
                built.unlink(missing_ok=True)
            for entry in host_dist.files or []:
                source = Path(str(host_dist.locate_file(entry)))
                if _is_extension(source) and source.is_relative_to(host):
                    target = python / source.relative_to(host)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
            swapped.append(f"{name} {built_version}")
    return {"swapped": swapped, "mismatched": mismatched}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    options = parser.parse_args()
    _, state = build_state(options.build_dir)
    print(f"build: {state}")
    rows = size_figures(options.build_dir)
    for row in rows:
        print(f"  {row.figure:<40} {row.result:<50} {row.verdict}")
    write(options.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
