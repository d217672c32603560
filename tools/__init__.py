"""Developer tools (not deployed): conservation checker, chaos run, template checks."""
