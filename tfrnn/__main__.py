"""`python -m tfrnn`: a tour of TF1's RNN API, run on tfrnn.

Each step prints the shapes the TF1 RNNCell tutorial documents, so a TF1 user can
see that the same code gives the same structures. Runs on CPU in seconds, and is
seeded: every run prints the same lines.

TensorFlow's start-up notices on stderr are left as they are: `python -m tfrnn`
imports the package `tfrnn`, and with it TensorFlow, before this module runs, so
nothing set here can reach them. With TensorFlow 2.21 on a CPU-only machine:

- `WARNING: All log messages before absl::InitializeLog() is called are written
  to STDERR`, then `port.cc` ("oneDNN custom operations are on ...") and
  `cudart_stub.cc` ("Could not find cuda drivers on your machine ..."), twice:
  two of TensorFlow's libraries print them as each loads, before TensorFlow's
  logging is set up, so `TF_CPP_MIN_LOG_LEVEL` does not hide them, even at 3.
  Only `TF_ENABLE_ONEDNN_OPTS=0` removes the oneDNN notice, and it does so by
  turning oneDNN off, which changes speed and rounding.
- `cpu_feature_guard.cc` ("This TensorFlow binary is optimized to use available
  CPU instructions ..."): `TF_CPP_MIN_LOG_LEVEL=1` in the shell hides it.
- `cuda_platform.cc` ("failed call to cuInit ..."), an error-level line written
  when the first operation looks for a GPU and finds no driver.
  `CUDA_VISIBLE_DEVICES` does not prevent it; `TF_CPP_MIN_LOG_LEVEL=3` in the
  shell hides it, together with every other error TensorFlow would report.
"""

import keras
import numpy as np
import tensorflow as tf

import tfrnn


def show(label: str, value: object) -> None:
    print(f"  {label:<44} {value}")


def basic_rnn_cell() -> None:
    print("1. BasicRNNCell: one step, (output, next_state) = call(input, state)")
    cell = tfrnn.BasicRNNCell(num_units=128)
    show("cell.state_size", cell.state_size)
    inputs = np.random.rand(32, 100).astype(np.float32)  # batch_size 32
    h0 = cell.zero_state(32, np.float32)
    output, h1 = cell.call(inputs, h0)
    show("h1.shape", tuple(h1.shape))
    show("output is the new state (pitfall 1)", bool(np.array_equal(output, h1)))


def basic_lstm_cell() -> None:
    print("2. BasicLSTMCell: the state is LSTMStateTuple(c, h)")
    lstm_cell = tfrnn.BasicLSTMCell(num_units=128)
    inputs = np.random.rand(32, 100).astype(np.float32)
    h0 = lstm_cell.zero_state(32, np.float32)
    output, h1 = lstm_cell.call(inputs, h0)
    show("h1.h.shape", tuple(h1.h.shape))
    show("h1.c.shape", tuple(h1.c.shape))
    show("output is h1.h, not the whole state", bool(np.array_equal(output, h1.h)))


def many_steps() -> None:
    print("3. Many steps at once: (batch_size, time_steps, input_size) -> outputs, state")
    cell = tfrnn.BasicLSTMCell(num_units=128)
    inputs = np.random.rand(32, 10, 100).astype(np.float32)
    initial_state = cell.zero_state(32, np.float32)
    outputs, state = tfrnn.dynamic_rnn(cell, inputs, initial_state=initial_state)
    show("outputs.shape (batch, time, output_size)", tuple(outputs.shape))
    show("state.h.shape (batch, state_size)", tuple(state.h.shape))
    lengths = np.random.randint(0, 11, size=32)
    outputs, state = tfrnn.dynamic_rnn(cell, inputs, sequence_length=lengths, dtype=tf.float32)
    row = int(np.argmin(lengths))
    show(f"row {row} (length {lengths[row]}): outputs past it are 0", bool(np.all(outputs[row, lengths[row]:] == 0)))


def multi_rnn_cell() -> None:
    print("4. MultiRNNCell: three stacked layers")

    def get_a_cell() -> tfrnn.BasicRNNCell:
        return tfrnn.BasicRNNCell(num_units=128)

    cell = tfrnn.MultiRNNCell([get_a_cell() for _ in range(3)])
    show("cell.state_size", cell.state_size)
    h0 = cell.zero_state(32, np.float32)
    output, h1 = cell.call(np.random.rand(32, 100).astype(np.float32), h0)
    show("h1: a tuple of three (32, 128) states", [tuple(h.shape) for h in h1])
    print("   its TF1 checkpoint names:")
    for name, variable in tfrnn.tf1_variable_names(cell).items():
        show("  " + name, tuple(variable.shape))


def repeated_cell_pitfall() -> None:
    print("5. Pitfall 2: MultiRNNCell([one_cell] * 3)")
    one_cell = tfrnn.BasicRNNCell(num_units=128)
    try:
        tfrnn.MultiRNNCell([one_cell] * 3)
    except ValueError as error:
        print("   ValueError:", str(error).split(". ")[0] + ".")
        print("   fix: MultiRNNCell([get_a_cell() for _ in range(3)])")


def main() -> None:
    keras.utils.set_random_seed(0)  # seeds NumPy's global generator too
    for step in (basic_rnn_cell, basic_lstm_cell, many_steps, multi_rnn_cell, repeated_cell_pitfall):
        step()
        print()


if __name__ == "__main__":
    main()
