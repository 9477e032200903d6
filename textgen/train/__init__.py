"""Training: the loop that turns batches into checkpoints.

Owns the loop (`trainer`), the learning-rate schedule (`schedule`), the guards
that stop, warn or find nothing to do (`guards`), metrics.csv and TensorBoard
(`logs`), samples during training (`samples`), checkpoint writes and rotation
(`saving`), what the loop tells its caller (`reporter`), and fine-tuning a new
run from a base run (`finetune`).
"""
