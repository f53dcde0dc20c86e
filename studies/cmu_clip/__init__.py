"""Build the shipped CMU clip from the full CMU BVH file (README.md)."""
