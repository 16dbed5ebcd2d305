"""Allow ``python -m helpdesk``."""

from helpdesk.cli import main

raise SystemExit(main())
