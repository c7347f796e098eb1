"""The rules engine: criteria operators and matching, pure functions with no database access."""
