"""Work on untrusted input in a separate process (time and memory limits): below every other
engine package, so that data (image decoding) and models (model-file imports) both use it."""
