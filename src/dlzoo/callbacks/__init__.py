"""Lightning callbacks, one a file: the ones ``train()`` always adds and the ones ``conf/callbacks`` names."""
