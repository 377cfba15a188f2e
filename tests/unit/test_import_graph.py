"""The shared code and the local runtime import one way: no module reaches, through any chain of
imports, back to itself. A registry builds its providers; the providers never import the registry."""

from tests.support.import_graph import REPOSITORY, cycles, describe, graph, imported_names, modules


def test_the_import_graph_of_the_shared_code_and_the_local_runtime_has_no_cycle():
    found = cycles(graph())
    assert not found, f"import cycles:\n{describe(found)}"


def test_the_graph_reads_every_module_and_sees_the_registries_import_their_shared_helpers():
    edges = graph()
    assert set(edges) == set(modules())
    assert "atelier.integrations.inference.json_api" in edges["atelier.integrations.inference.registry"]
    assert "atelier.integrations.payments.credentials" in edges["atelier.integrations.payments.stripe"]
    assert "atelier.integrations.payments.registry" not in edges["atelier.integrations.payments.stripe"]


def test_a_cycle_is_found_whatever_its_length():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_nothing_above_the_data_layer_imports_pynamodb_or_the_item_classes():
    # Which item classes exist, and how a condition is written, stay inside atelier.data (the
    # handlers, use cases, domain, API and integrations see repositories and their steps only).
    above = ("atelier.usecases", "atelier.models", "atelier.api", "atelier.integrations")
    storage_details = ("pynamodb", "atelier.data.items", "atelier.data.ledger_items", "atelier.data.base")
    handlers = {
        ".".join(path.relative_to(REPOSITORY).with_suffix("").parts): path
        for path in (REPOSITORY / "functions").rglob("*.py")
    }
    scanned = {name: path for name, path in modules().items() if name.startswith(above)} | handlers
    offenders = sorted(
        f"{name} imports {target}"
        for name, path in scanned.items()
        for target in imported_names(name, path)
        if target.startswith(storage_details)
    )
    assert len(scanned) > 100
    assert not offenders, "\n".join(offenders)
