"""Data: from text files to the batches a stateful model trains on.

Owns reading corpus files and detecting their encoding (`corpus`), the
tokenizers (`tokenizers/`), encoding a corpus into token ids (`encode`) and the
on-disk cache of those encodings (`cache`), the stateful batch layout
(`batches`: row i of batch k+1 continues row i of batch k), corpus statistics
(`stats`) and the corpus profile that picks a preset (`profile`). Knows nothing
of models or runs.
"""
