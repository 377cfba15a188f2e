"""Every function fits Lambda's 250 MB unzipped limit, its code and all its layers together.

The third-party layers' sizes are those recorded in layers/sizes.json by `python -m
scripts.layer_sizes`, which builds each layer as `make build` does (Lambda platform wheels, then
bytecode); the functions' code and the domain layer are measured here from the working tree. A
layer whose requirements or Makefile changed after its sizes were recorded fails the test until
they are measured again, so the figures cannot go stale silently.
"""

import json

import pytest

from scripts.layer_sizes import (
    LAMBDA_UNZIPPED_LIMIT,
    MANIFEST_PATH,
    MB,
    function_sizes,
    functions,
    layers,
    runtime_and_architecture,
)
from tests.support.template import template

MANIFEST = json.loads(MANIFEST_PATH.read_text())
REMEASURE = "run `python -m scripts.layer_sizes` to measure the layers again and record them"


def test_the_sizes_were_measured_for_the_templates_runtime_and_architecture():
    assert (MANIFEST["runtime"], MANIFEST["architecture"]) == runtime_and_architecture(template()), REMEASURE


@pytest.mark.parametrize("layer", sorted(name for name, layer in layers(template()).items() if layer.third_party))
def test_each_third_party_layer_is_recorded_as_it_is_now(layer):
    recorded = MANIFEST["layers"].get(layer)
    assert recorded is not None, f"{layer} has no recorded size: {REMEASURE}"
    current = layers(template())[layer]
    assert recorded["inputs_sha256"] == current.inputs_digest(), f"{layer}'s inputs changed: {REMEASURE}"
    assert (recorded["build_method"], recorded["architecture"]) == (current.build_method, current.architecture)


def test_no_recorded_layer_is_gone_from_the_template():
    assert set(MANIFEST["layers"]) <= set(layers(template())), REMEASURE


@pytest.mark.parametrize("name", sorted(functions(template())))
def test_code_and_layers_fit_the_unzipped_limit(name):
    parts = function_sizes(template(), MANIFEST)[name]
    total = sum(parts.values())
    breakdown = ", ".join(f"{part} {size / MB:.1f} MB" for part, size in parts.items())
    assert total <= LAMBDA_UNZIPPED_LIMIT, f"{name}: {total / MB:.1f} MB > 250 MB ({breakdown})"


def test_the_media_functions_keep_room_for_growth():
    # The worker and the sweep carry PyAV and c2pa-python: a dependency upgrade that eats the margin
    # should be noticed while there is still a choice of what to drop.
    sizes = function_sizes(template(), MANIFEST)
    for name in ("WorkerFunction", "ScheduledFunction"):
        assert sum(sizes[name].values()) <= LAMBDA_UNZIPPED_LIMIT - 20 * MB, name


def test_recorded_sizes_are_whole_layers_not_placeholders():
    # Each recorded layer holds at least its largest entries, and the big ones are the expected packages.
    for layer, recorded in MANIFEST["layers"].items():
        assert recorded["bytes"] >= sum(recorded["largest_entries"].values()) > 0, layer
    assert {"av", "av.libs"} <= set(MANIFEST["layers"]["VideoLayer"]["largest_entries"])
    assert set(MANIFEST["layers"]["ProvenanceLayer"]["largest_entries"]) == {"c2pa"}


def test_a_function_gets_the_globals_layers_and_its_own():
    # SAM appends a function's own Layers to the Globals' list: both count towards its size.
    assert functions(template())["WorkerFunction"].layers == (
        "DependenciesLayer",
        "DomainLayer",
        "VideoLayer",
        "ProvenanceLayer",
    )
    assert functions(template())["GalleryFunction"].layers == ("DependenciesLayer", "DomainLayer")


def test_the_check_would_catch_the_former_media_layer():
    # The single media layer of before (PyAV, c2pa-python with its extras, ImageHash with numpy and
    # scipy: 392.3 MB measured the same way) put the worker over the limit.
    former = json.loads(json.dumps(MANIFEST))
    former["layers"]["VideoLayer"]["bytes"] = int(392.3 * MB)
    former["layers"]["ProvenanceLayer"]["bytes"] = 0
    parts = function_sizes(template(), former)["WorkerFunction"]
    assert sum(parts.values()) > LAMBDA_UNZIPPED_LIMIT
