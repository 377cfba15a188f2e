"""``python -m atelier``: the same as the ``atelier`` command."""

import sys

from .cli import main

sys.exit(main())
