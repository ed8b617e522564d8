"""One training run's parts, each with one job: the trainer with its callbacks and loggers
(:mod:`assembly`), the run folder's record through the launch (:mod:`record`), fitting and
testing with clean stops (:mod:`fitting`), and the record's final figures (:mod:`outcome`)."""
