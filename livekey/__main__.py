import sys

from livekey.cli import main

sys.exit(main())
