"""The example grid of every corruption at every severity (README.md)."""
