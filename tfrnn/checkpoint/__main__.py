"""`python -m tfrnn.checkpoint`: the `tfrnn-checkpoint` command (see `tfrnn.checkpoint.tool`)."""

from tfrnn.checkpoint.tool import main

raise SystemExit(main())
