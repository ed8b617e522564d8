"""dlzoo's Hydra sweepers: ``hydra/sweeper=dlzoo_optuna`` (persistent, parallel, pruning
Optuna searches; also answers to the old ``optuna`` name) and ``hydra/sweeper=dlzoo_grid``
(grid multiruns that a relaunch with ``resume=auto`` continues)."""
