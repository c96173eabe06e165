"""The store: tables, migrations, sessions, the template spec cache and the fast write path."""
