"""Integrations with the outside world, each behind a small interface so tests can hand in fakes."""
