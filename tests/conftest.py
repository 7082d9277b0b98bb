import os

# Quiet TensorFlow's C++ start-up logging in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The golden generator is a script for the TF1 oracle process (it exits without
# TF_USE_LEGACY_KERAS=1); doctest collection must not import it.
collect_ignore = ["golden/generate.py"]
