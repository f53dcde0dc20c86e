"""Weights & Biases: naming, runs, results keys, logging, resume, lineage and the dashboard as code. Every
module imports the library absolutely (``import wandb``); importing this package imports none of it."""
