"""Logged-in users: a form, a token endpoint, a static bearer token or HTTP basic, one account a user.

The ``--app-login*`` options say how to log in, never with what: the accounts come from
the environment or a git-ignored file. Each user takes its own account (a distributed
master hands them out), logs in when it starts, and keeps its session cookie or token for
the whole run, logging in again when the application shows it lost the session. A failed
login is a Locust failure with a reason; when every user's login fails the run stops with
one line and exits 1.

One module a concern:

- ``settings``: the ``--app-login*`` options;
- ``accounts``: where accounts come from, and their hand-out, one a user across workers;
- ``forms``: a login form read as a browser reads it;
- ``flows``: the four ways to log in, and how a login is judged;
- ``staying``: staying logged in (re-logins, token renewal), and ``install`` on a user;
- ``counts``: what the run's logins did, for the summary, the web UI and the run file.
"""

from .accounts import LoginError, load_accounts, missing_accounts_line
from .counts import COUNTS
from .settings import KINDS, parse_kind
from .staying import install

__all__ = ["COUNTS", "KINDS", "LoginError", "install", "load_accounts", "missing_accounts_line", "parse_kind"]
