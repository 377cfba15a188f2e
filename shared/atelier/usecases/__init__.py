"""One module per use case. Each takes its collaborators (repositories, integrations, clock) as
arguments, so tests hand in fakes or emulator-backed repositories instead of patching imports."""
