"""Limits and defaults, in one place (the CLI's option defaults, the library's, the docs').

Nothing is imported here, so the CLI can read these without slowing ``--help``.
"""

DEFAULT_TIMEOUT = 60.0  # seconds one document may take before it is stopped
DEFAULT_PAGE_CAP = 24  # pages one document may have
TASKS_PER_WORKER = 100  # a long-lived WeasyPrint process grows a little: recycle workers
MAX_WORKERS_PER_CPU = 2  # `--jobs` above this many per CPU only costs memory
