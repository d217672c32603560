import sys

from tools.terminal.cli import main

sys.exit(main())
