import os

# Quiet TensorFlow's C++ start-up logging in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The golden generators are scripts for the TF1 oracle processes (TF_USE_LEGACY_KERAS=1,
# or TF 1.15 in its own venv); doctest collection must not import them.
collect_ignore_glob = ["golden/*.py", "golden/**/*.py"]
