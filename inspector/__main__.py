"""``python -m sioscope.inspector`` is the ``sioscope`` command."""

import sys

from sioscope.inspector.cli import main

sys.exit(main())
