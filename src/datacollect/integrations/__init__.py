"""Adapters to the outside world: SMTP and IMAP, HTTP, blob stores, ERP connectors and
external databases.

The engine and the nodes stay pure; what talks to another system lives here and is reached
through the protocols in :mod:`datacollect.engine.ports` (or, for output nodes, through a
small module of helpers such as :mod:`datacollect.integrations.sqldb` and
:mod:`datacollect.integrations.http`).
"""
