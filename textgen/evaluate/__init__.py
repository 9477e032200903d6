"""Evaluation: how good a trained model is.

Owns loss, perplexity and bits per character on validation or given text
(`perplexity`), how much of its samples is copied from the corpus
(`novelty`, exactly, with the suffix automaton of `matching`), and the loss
curves (`plot`).
"""
