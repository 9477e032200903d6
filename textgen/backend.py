"""Import Keras on the TensorFlow backend, quietly.

Every module that needs Keras or TensorFlow imports them from here, so that
`KERAS_BACKEND` is always set first: on JAX a stateful LSTM silently drops its
state inside `fit`/`predict`, so textgen pins TensorFlow.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) is noise for users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")



def _import_quietly():
    """Imports TensorFlow with file descriptor 2 pointed at /dev/null.

    TensorFlow's C++ layer (absl, oneDNN, the CUDA stub) writes notices straight
    to fd 2 before any Python logging setting applies. Errors still surface as
    Python exceptions once stderr is restored.
    """
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. an embedded interpreter)
        import tensorflow

        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        tensorflow.constant(0)  # initialises the runtime (and its notices) now
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow


tf = _import_quietly()

import keras  # noqa: E402

tf.get_logger().setLevel("ERROR")

__all__ = ["keras", "tf"]
