"""``python -m chainrule``: the command line."""

from .cli import main

raise SystemExit(main())
