"""python -m dlcore.tune: measure the GEMM tuning of this machine again and cache it."""
import sys

from . import main

sys.exit(main())
