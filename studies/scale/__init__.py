"""The scale study: robustness vs crop size and backbone depth (README.md; ``make scale-study``)."""
