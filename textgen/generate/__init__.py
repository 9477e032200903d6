"""Generation: text from a trained model, TensorFlow-free.

Owns the generator (loading a run, reading prompts: `generator`), a batch of
samples being written (the token loop, stop strings and lengths: `generation`),
the sampling settings declared once for every interface (`settings`), the
samplers and filters that turn logits into a token (`samplers`), the per-row
state filters see (`context`), the rules that mask tokens, applied to every
token (`constraints`), and the interactive session behind `textgen sample -i`
(`interactive`).
"""
