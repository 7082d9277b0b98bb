"""What the ports of TF 1.15's own RNN tests share (tests/test_tf1_port_*.py); no tests here.

- `TF1_CLOSE`: `tf.test.TestCase.assertAllClose`'s default tolerances, which TF's
  tests used wherever they wrote none.
- `scope_initializer(cell, value)`: TF1's `variable_scope(..., initializer=
  tf.constant_initializer(value))` on a built tfrnn cell;
  `call_under_scope_initializer` is a cell's first call under such a scope.
- `keras_seed(seed)`: TF1's seeded `random_uniform_initializer(-0.01, 0.01)`.
- `trackable_children(obj)`: the names a `tf.train.Checkpoint` gives an object's
  dependencies (TF1's tests read the private `_checkpoint_dependencies`).
"""

import keras
import tensorflow as tf

import tfrnn

TF1_CLOSE = dict(rtol=1e-6, atol=1e-6)

# The weights TF 1.15 created without an initializer of their own, so a scope's
# initializer set them. Checked by building every cell under
# variable_scope("root", initializer=constant_initializer(0.5)) in TF 1.15:
# kernels (projections included, and GRUBlockCell's w_ru / w_c), peepholes and
# embeddings took 0.5; biases kept their own (zeros; 1.0 for GRU gates), and so
# did LayerNormBasicLSTMCell's gamma (1.0) and beta (0.0). The one bias without
# an initializer of its own is LayerNormBasicLSTMCell's, made without layer norm.
_SCOPE_INITIALIZED = ("kernel", "w_f_diag", "w_i_diag", "w_o_diag", "w_ru", "w_c", "embedding")


def scope_initializer(cell, value):
    """Sets what TF1's scope initializer `constant_initializer(value)` set, on a built cell."""
    for name, variable in tfrnn.tf1_variable_names(cell, scope="").items():
        scope, _, leaf = name.rpartition("/")
        layer_norm_bias = leaf == "bias" and scope.endswith("layer_norm_basic_lstm_cell")
        if leaf in _SCOPE_INITIALIZED or layer_norm_bias:
            variable.assign(tf.fill(variable.shape, tf.constant(value, variable.dtype)))
    return cell


def trackable_children(obj):
    """`{name: child}` of `obj`'s dependencies, as an object-based checkpoint records them."""
    return dict(tf.train.TrackableView(obj).children(obj))


def keras_seed(seed):
    """A seeded Keras initializer like TF1's `random_uniform_initializer(-0.01, 0.01, seed=seed)`.

    Keras draws the same values on every call of a seeded initializer, as TF1's
    graph-mode op seed did: cells given it start with equal weights.
    """
    return keras.initializers.RandomUniform(-0.01, 0.01, seed=seed)


def call_under_scope_initializer(cell, inputs, state, value=0.5, **kwargs):
    """TF1's first call of a cell under `variable_scope(..., initializer=constant_initializer(value))`.

    TF1 created the weights in the first call, from the inputs, already holding
    the scope's value. Here the first call builds the cell (from the same
    inputs), `scope_initializer` sets the values, and a second call computes.
    """
    cell(inputs, state, **kwargs)
    scope_initializer(cell, value)
    return cell(inputs, state, **kwargs)
