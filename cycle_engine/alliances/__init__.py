"""The Learning Alliance domain: alliances, partners, roles per stage, work plans, products,
testing contexts, learning questions and the learning log, plus the cycle report.

Kept light on purpose: `cycle_engine.cycles` imports the work-plan hook from here, so this
package's `__init__` imports nothing. Commands live in `commands.AllianceCommands`, a mixin of
`CycleEngine`; tables in `models`; each other module holds the helpers for one part.
"""
