"""HTTP plumbing shared by every API function: the resolver factory, error mapping and OpenAPI."""
