"""The error a user can fix: a problem with the input or the settings, in one line.

A module of its own so that custseg.postgres (whose PostgresError is one) need not import
custseg.inputs, which reads PostgreSQL relations through it.
"""


class InputError(ValueError):
    """A problem with the input or the settings the user can fix; the message is one line."""
