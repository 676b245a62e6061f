"""The command line: one module per command group, each a thin layer over the library.

`common` holds what they share (errors, exit codes, option types, the console) and imports
no command module; `app` registers them all.
"""

from .app import app, main

__all__ = ["app", "main"]
