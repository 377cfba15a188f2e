"""Domain models: what the use cases work with. Stored and HTTP shapes map to and from these."""
