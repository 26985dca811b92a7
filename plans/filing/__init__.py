"""Filing (备案) of published plans with the bureau, on statutory working-day clocks."""
