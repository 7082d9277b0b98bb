"""`tf.contrib.seq2seq` on Keras 3: attention, the attention wrapper, decoders,
helpers, `dynamic_decode` and the sequence loss, with TF1's names, signatures,
numbers and checkpoint names.

Where TF1 code said `tf.contrib.seq2seq.X`, it says `tfrnn.seq2seq.X`.
"""

from __future__ import annotations

__all__: list[str] = []

# Attention mechanisms.
from tfrnn.seq2seq.attention import AttentionMechanism, BahdanauAttention, LuongAttention, hardmax  # noqa: E402
from tfrnn.seq2seq.attention import _BaseAttentionMechanism  # noqa: E402,F401  (TF1's extension point)

__all__ += ["AttentionMechanism", "BahdanauAttention", "LuongAttention", "hardmax"]
from tfrnn.seq2seq.monotonic import (  # noqa: E402
    BahdanauMonotonicAttention, LuongMonotonicAttention, monotonic_attention, safe_cumprod,
)

__all__ += ["BahdanauMonotonicAttention", "LuongMonotonicAttention", "monotonic_attention", "safe_cumprod"]

# The attention wrapper.
from tfrnn.seq2seq.attention_wrapper import AttentionWrapper, AttentionWrapperState  # noqa: E402
from tfrnn.seq2seq.attention_rnn import AttentionRNN  # noqa: E402

__all__ += ["AttentionRNN", "AttentionWrapper", "AttentionWrapperState"]

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

# Losses and beam search.
from tfrnn.seq2seq.loss import SequenceLoss, sequence_loss  # noqa: E402
from tfrnn.seq2seq.beam_search import gather_tree, tile_batch  # noqa: E402

__all__ += ["SequenceLoss", "sequence_loss", "gather_tree", "tile_batch"]
