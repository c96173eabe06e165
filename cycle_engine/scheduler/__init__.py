"""Durable scheduler: deadlines, reminders, overdue escalation and stall checks as rows.

    rules          stage rules -> planned timers (local calendar days, working hours)
    store          planned timers -> rows (create, move, cancel; unique dedupe keys)
    listener       the ChangeListener that keeps a cycle's timers in step with its stages
    claim          claiming due rows with leases (SKIP LOCKED / BEGIN IMMEDIATE)
    firing         firing one row in its own transaction; the handler registry
    handlers       what reminder, due, overdue and stall timers do, and their late policies
    stalled        stall flags with reasons; the overdue() and stalled() queries
    worker         Worker.run_once(now): claim + fire in batches
    driver         APScheduler 3 wakes the worker (tick + wake-up), stores nothing
    working_hours  next_working_time(): hold a moment to a working day, DST-safe
    commands       SchedulerQueries, the CycleEngine mixin

Kept import-free so `cycle_engine.engine` can import its parts without cycles.
"""
