"""Errors of reviews, each with the HTTP status the API answers with::

    Conflict
    ├── AlreadyTaken        409  the item was claimed or decided by someone else meanwhile
    └── FourEyes            409  the same person cannot give both approvals
    AppendOnly              405  the trail of decisions cannot be changed or deleted
"""

from __future__ import annotations

from datacollect.errors import Conflict, DatacollectError


class AlreadyTaken(Conflict):
    code = "already_taken"


class FourEyes(Conflict):
    code = "four_eyes"


class AppendOnly(DatacollectError):
    code = "append_only"
    http_status = 405
