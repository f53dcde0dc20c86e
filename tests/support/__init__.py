"""Test-only helpers: the offline W&B run reader (:mod:`.wandb_offline`) and the import of the corruptions'
reference implementation (:mod:`.corruption_reference`). Tests import them as ``support.<module>`` (pytest
puts ``tests/`` on ``sys.path``)."""
