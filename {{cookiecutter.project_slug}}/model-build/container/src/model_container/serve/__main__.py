"""`python3 -m model_container.serve` == `serve`."""

import sys

from model_container.serve import main

sys.exit(main())
