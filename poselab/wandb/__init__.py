"""Weights & Biases: run naming and grouping (:mod:`.naming`), starting runs with the offline fallback
(:mod:`.runs`), results rows as W&B keys, step metrics and tables (:mod:`.keys`, pure), the logging calls
(:mod:`.log`), resumed training runs (:mod:`.resume`) and the dashboard as code (:mod:`.dashboard`; saved
as a W&B report by ``poselab dashboard``, :mod:`.publish`).

Every module imports the ``wandb`` library absolutely (``import wandb``), so it is never this package;
importing ``poselab.wandb`` itself imports nothing of the library.
"""
