"""Training: the loop that turns batches into checkpoints.

Owns the trainer (loop, learning-rate schedule, guards, metrics and
TensorBoard logs, samples during training, checkpoint rotation) and
fine-tuning a new run from a base run (`finetune`).
"""
