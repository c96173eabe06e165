"""`python -m cycle_engine` runs the same CLI as the `cycle-engine` console script."""

from cycle_engine.cli import main

main()
