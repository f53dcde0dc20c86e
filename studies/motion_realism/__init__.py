"""Realism check of the procedural pose prior against the shipped CMU motion clip (README.md)."""
