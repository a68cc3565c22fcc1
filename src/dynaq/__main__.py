"""``python -m dynaq``: the same as the ``dynaq`` command."""

import sys

from dynaq.cli import main

sys.exit(main())
