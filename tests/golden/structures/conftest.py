# generate.py is a script for the TF1 oracle process (TF_USE_LEGACY_KERAS=1) and
# exits without it; doctest collection must not import it.
collect_ignore = ["generate.py"]
