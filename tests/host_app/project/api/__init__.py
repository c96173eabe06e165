"""Budget desk: a small host application that embeds Cycle Engine, as the README's "Embedding"
section describes. Its own package is called `api`, like most FastAPI apps' (so the name
collision with the engine's HTTP layer, `cycle_engine.api`, is real), and it brings:

    budgets.py   its own tables, and the `budget_approved` guard its template names
    audit.py     a listener (inside each command's transaction) and a subscriber (after commit)
    plugin.py    the `cycle_engine.plugins` entry point: the same guard in serve, worker, CLI
    app.py       its FastAPI app, with the engine's app mounted under /ce
"""
