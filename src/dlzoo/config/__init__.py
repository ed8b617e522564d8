"""From a composed config (or a checkpoint) to objects: the typed schema, checks, builders, restore."""
