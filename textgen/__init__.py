"""textgen: train LSTM language models on your own text and write in its style.

Importing the package is cheap; Keras and TensorFlow load only when a model is
built (through `textgen.backend`, which pins the TensorFlow backend).
"""

__version__ = "0.1.0"
