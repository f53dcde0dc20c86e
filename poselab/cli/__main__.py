"""``python -m poselab.cli``: the ``poselab`` command."""

import sys

from poselab.cli import main

sys.exit(main())
