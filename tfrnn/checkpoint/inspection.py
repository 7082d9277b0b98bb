"""Every variable of a TF1 checkpoint placed: the cells and loops `discovery` finds, the
attention wrappers `attention_discovery` finds around them, and what is left."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tfrnn.checkpoint.attention_discovery import find_attention_wrappers
from tfrnn.checkpoint.discovery import Inspection, find_cells, group_directions, group_layers, not_rnn_weights


def inspect_shapes(shapes: Mapping[str, Sequence[int]]) -> Inspection:
    """Every variable placed: in an RNN structure, as not an RNN weight, or unexplained.

    Args:
        shapes: TF1 name -> shape (a list of ints), as a checkpoint reader gives them.

    Returns:
        An `Inspection`, structures sorted by scope.
    """
    not_rnn = not_rnn_weights(shapes)
    rest = {name: list(shape) for name, shape in shapes.items() if name not in not_rnn}
    cells, unexplained = find_cells(rest)
    units = group_layers(cells, unexplained)
    attentions, units = find_attention_wrappers(units, unexplained, rest)
    for name, reason in unexplained.items():
        if not reason and "embedding" in name.rpartition("/")[2].lower() and len(rest[name]) == 2:
            unexplained[name] = (f"an embedding table {rest[name]} (ids to vectors) that feeds no decoder found "
                                 "here: read it with tf.train.load_checkpoint(PATH).get_tensor(name)")
    structures = sorted(group_directions(units) + attentions, key=lambda s: (s.scope, s.units[0][0]))
    return Inspection(structures, not_rnn, unexplained, shapes)
