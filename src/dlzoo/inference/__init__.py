"""Using a trained network: reading users' inputs, decoding and sampling, and what a prediction prints and writes."""
