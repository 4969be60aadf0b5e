"""The live pipeline: capture, key and output threads."""
