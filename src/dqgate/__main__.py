"""`python -m dqgate` runs the `dq` command."""

from dqgate.cli import main

raise SystemExit(main())
