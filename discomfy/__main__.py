"""``python -m discomfy`` is the ``discomfy`` command."""

import sys

from discomfy.cli import main

sys.exit(main())
