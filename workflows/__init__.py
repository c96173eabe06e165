"""Built-in cycle templates, data not code."""
