"""`tf.contrib.seq2seq` on Keras 3: attention, the attention wrapper, decoders,
helpers, `dynamic_decode` and the sequence loss, with TF1's names, signatures,
numbers and checkpoint names.

Where TF1 code said `tf.contrib.seq2seq.X`, it says `tfrnn.seq2seq.X`.
"""

from __future__ import annotations

__all__: list[str] = []

# Decoding: helpers, decoders and dynamic_decode.
from tfrnn.seq2seq.decoder import BasicDecoder, BasicDecoderOutput, Decoder, dynamic_decode  # noqa: E402
from tfrnn.seq2seq.helper import (  # noqa: E402
    CustomHelper,
    GreedyEmbeddingHelper,
    Helper,
    InferenceHelper,
    SampleEmbeddingHelper,
    ScheduledEmbeddingTrainingHelper,
    ScheduledOutputTrainingHelper,
    TrainingHelper,
)

__all__ += [
    "BasicDecoder",
    "BasicDecoderOutput",
    "CustomHelper",
    "Decoder",
    "GreedyEmbeddingHelper",
    "Helper",
    "InferenceHelper",
    "SampleEmbeddingHelper",
    "ScheduledEmbeddingTrainingHelper",
    "ScheduledOutputTrainingHelper",
    "TrainingHelper",
    "dynamic_decode",
]
