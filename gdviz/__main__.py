"""``python -m gdviz``."""

from gdviz.cli import main

raise SystemExit(main())
