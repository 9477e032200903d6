"""Kept for code written before the stage layout: the samplers now live in
`textgen.generate.samplers`, where new code should import them from."""

from textgen.generate.samplers import (  # noqa: F401
    BanIds,
    Filter,
    RepetitionPenalty,
    Sampler,
    SamplerSettings,
    Temperature,
    TopK,
    TopP,
    softmax,
)
