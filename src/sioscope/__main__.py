"""``python -m sioscope`` runs the ``sioscope`` command (``sioscope.inspector.cli``)."""

import sys

from sioscope.inspector.cli import main

sys.exit(main())
