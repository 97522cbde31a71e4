"""`python -m layerwise` runs the command-line interface."""

import sys

from layerwise.cli import main

sys.exit(main())
