"""Runs: the run directory on disk, its checkpoints and records.

    directory         `RunDir`: the directory's paths, which checkpoint to use
                      (pick/require), stale temporary files
    lock              one trainer per run (`filelock`; a dead holder never blocks)
    records           corpus.json, lineage.json, state.json as typed records,
                      each read, checked and written in one place
    checkpoint_file   a checkpoint `.npz`: reading it without Keras, its CRC and
                      header checks, and where a damaged one falls back (`FALLBACKS`)
    repair            config.json/vocab.json through the copies inside the
                      checkpoint: `load` (read-only, with notices) and `repair`
                      (before a resume)
    keras_checkpoint  saving a Keras model's training state, and loading it back
    opening           a new run from a corpus; reopening one for `--resume`
    report            `textgen info`'s summary
"""
