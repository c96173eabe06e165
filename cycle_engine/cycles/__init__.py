"""Cycles: starting them and moving them between stages (`firing`), and the service commands
use (`service`)."""
