"""Generation: text from a trained model, TensorFlow-free.

Owns the generator (priming, the token loop over a batch of rows, stop strings
and lengths: `generator`), the samplers and filters that turn logits into a
token (`samplers`), and the interactive session behind `textgen sample -i`
(`interactive`).
"""
