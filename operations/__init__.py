"""Custom pyinfra operations, one module per domain (read, diff, then yield only the difference),
each with JSON fixture tests under tests/operations/<module>.<operation>/."""
