"""TF1 names (`tf1_variable_names`): exact names for every cell, stack, wrapper and scope."""

import numpy as np
import pytest

import tfrnn


def built(cell, depth=3):
    cell(np.zeros((1, depth), "float32"), cell.zero_state(1, "float32"))
    return cell


def shapes(names):
    return {name: tuple(v.shape) for name, v in names.items()}


def test_names_for_every_cell_and_scope():
    assert shapes(tfrnn.tf1_variable_names(built(tfrnn.LSTMCell(4, num_proj=2, use_peepholes=True)), scope="")) == {
        "lstm_cell/kernel": (5, 16), "lstm_cell/bias": (16,), "lstm_cell/w_f_diag": (4,),
        "lstm_cell/w_i_diag": (4,), "lstm_cell/w_o_diag": (4,), "lstm_cell/projection/kernel": (4, 2),
    }
    assert shapes(tfrnn.tf1_variable_names(built(tfrnn.BasicRNNCell(2, name="my_rnn")), scope="encoder/myrnn/")) == {
        "encoder/myrnn/my_rnn/kernel": (5, 2), "encoder/myrnn/my_rnn/bias": (2,),
    }
    assert list(tfrnn.tf1_variable_names(built(tfrnn.GRUCell(2)))) == [
        "rnn/gru_cell/gates/kernel", "rnn/gru_cell/gates/bias",
        "rnn/gru_cell/candidate/kernel", "rnn/gru_cell/candidate/bias",
    ]


def test_same_class_layers_get_cell_i_whatever_keras_calls_them():
    stack = built(tfrnn.MultiRNNCell([tfrnn.BasicLSTMCell(4), tfrnn.BasicLSTMCell(4), tfrnn.GRUCell(2)]))
    assert shapes(tfrnn.tf1_variable_names(stack)) == {
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel": (7, 16),
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias": (16,),
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel": (8, 16),
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias": (16,),
        "rnn/multi_rnn_cell/cell_2/gru_cell/gates/kernel": (6, 4),
        "rnn/multi_rnn_cell/cell_2/gru_cell/gates/bias": (4,),
        "rnn/multi_rnn_cell/cell_2/gru_cell/candidate/kernel": (6, 2),
        "rnn/multi_rnn_cell/cell_2/gru_cell/candidate/bias": (2,),
    }


def test_names_cover_every_weight_exactly_once():
    stack = built(tfrnn.MultiRNNCell([tfrnn.LSTMCell(4, use_peepholes=True, num_proj=3), tfrnn.GRUCell(5)]))
    variables = list(tfrnn.tf1_variable_names(stack).values())
    assert sorted(map(id, variables)) == sorted(map(id, stack.weights))


def test_unbuilt_cell_has_no_names_yet():
    with pytest.raises(ValueError, match="needs a built cell.*load_tf1_checkpoint"):
        tfrnn.tf1_variable_names(tfrnn.BasicLSTMCell(4))


def test_unknown_cell_type_is_named():
    stack = built(tfrnn.MultiRNNCell([tfrnn.GRUCell(2), __import__("keras").layers.GRUCell(2)]))
    with pytest.raises(TypeError, match="No TF1 variable layout is known for GRUCell"):
        tfrnn.tf1_variable_names(stack)


def test_wrapper_weights_include_the_wrapped_cells_and_tf1_names_nest():
    cell = tfrnn.MultiRNNCell([
        tfrnn.DropoutWrapper(tfrnn.ResidualWrapper(tfrnn.DeviceWrapper(tfrnn.GRUCell(3), "/cpu:0")), output_keep_prob=0.5),
        tfrnn.OutputProjectionWrapper(tfrnn.InputProjectionWrapper(tfrnn.BasicLSTMCell(2), num_proj=4), 5),
    ])
    cell(np.ones((1, 3), "float32"), cell.zero_state(1, "float32"), training=False)  # builds; no dropout wanted
    assert len(cell.weights) == 4 + 2 + 2 + 2 and len(cell.cells[0].weights) == 4
    names = {name: tuple(v.shape) for name, v in tfrnn.tf1_variable_names(cell, "rnn").items()}
    prefix = "rnn/multi_rnn_cell/cell_1/output_projection_wrapper/"
    assert names == {
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel": (6, 6),
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias": (6,),
        "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/kernel": (6, 3),
        "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/bias": (3,),
        prefix + "input_projection_wrapper/kernel": (3, 4),
        prefix + "input_projection_wrapper/bias": (4,),
        prefix + "input_projection_wrapper/basic_lstm_cell/kernel": (6, 8),
        prefix + "input_projection_wrapper/basic_lstm_cell/bias": (8,),
        prefix + "kernel": (2, 5),
        prefix + "bias": (5,),
    }
