"""One module per kernel family; each exposes run(ctx) -> list[common.Row]."""
