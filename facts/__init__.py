"""Custom pyinfra facts, one module per domain, each with JSON fixture tests under tests/facts/."""
