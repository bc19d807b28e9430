"""``python -m dynafold`` is the ``dynafold`` command."""

import sys

from dynafold.cli import main

sys.exit(main())
