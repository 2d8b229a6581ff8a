"""`python ui.py` opens the web app in the browser (the same as `assistant ui`). The app lives in assistant/webapp.py."""

import sys

from assistant.webapp import build_app, main, parse_args, server_options  # noqa: F401  (for scripts and tests)

if __name__ == "__main__":
    sys.exit(main())
