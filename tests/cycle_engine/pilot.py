"""A small template used by the core tests: every feature of the language, no domain guards."""

from __future__ import annotations

PILOT = """
key: pilot
title: Pilot cycle
initial: draft
stages:
  - {key: draft, title: Draft, duration: P1W}
  - {key: review, title: Review, duration: P2W}
  - {key: paused, title: Paused, hold: true}
  - {key: done, title: Done, final: true}
  - {key: cancelled, title: Cancelled, final: true}
transitions:
  - {trigger: submit, from: draft, to: review, roles: [coordinator, lead]}
  - {trigger: send_back, from: review, to: draft, requires: [{note: true}]}
  - {trigger: approve, from: review, to: done, roles: [coordinator]}
  - {trigger: pause, from: "*", to: paused}
  - {trigger: resume, from: paused, to: "@previous"}
  - {trigger: cancel, from: ["*", paused], to: cancelled, requires: [{note: true}]}
"""
