"""pytest plugin for datacheck (fixtures are added by the testing helpers)."""
