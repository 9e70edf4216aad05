"""``python -m inspector`` is the ``sioscope`` command."""

import sys

from inspector.cli import main

sys.exit(main())
