"""Models: the network as Keras trains it, and as NumPy runs it.

Owns the Keras model (`network`: Embedding -> stacked stateful LSTM/GRU ->
Dense), textgen's own LSTM layer (`fast_lstm`), the mixed-precision choice
(`precision`) and the TensorFlow-free NumPy model that sampling, serving and
evaluation use (`numpy_lm`), which takes plain arrays, not run files; and how
its predictions are scored (`metrics`: bits, perplexity, bits per character),
for training's validation and evaluation alike.
"""
