"""Runs: the run directory on disk, its checkpoints and records.

Owns the directory's paths and lock, checkpoint files (reading without Keras,
checking, falling back to `previous` when damaged, repair), saving and loading
a Keras model's training state (`keras_checkpoint`), creating a run from a
corpus and reopening it for `--resume` (`opening`), and `textgen info`'s
summary (`report`).
"""
