"""The shared code and the local runtime import one way: no module reaches, through any chain of
imports, back to itself. A registry builds its providers; the providers never import the registry."""

from tests.support.import_graph import cycles, describe, graph, modules


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
