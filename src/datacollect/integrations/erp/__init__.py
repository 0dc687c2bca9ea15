"""ERP connectors behind one interface (:mod:`.base`): SAP (OData v2/v4), NetSuite (REST
record API, token-based auth), Oracle Fusion (REST). ``CONNECTORS`` maps the ERPExport node's
``system`` to its connector; a plugin adds one through the ``datacollect.integrations`` entry
point group (a ``Connector`` subclass)."""

from __future__ import annotations

import hashlib
import logging
from importlib.metadata import entry_points

from datacollect.integrations.erp.base import Connector, Options, Record, Result

log = logging.getLogger(__name__)


def _builtin() -> dict[str, type[Connector]]:
    from datacollect.integrations.erp.netsuite import NetSuiteConnector
    from datacollect.integrations.erp.oracle import OracleConnector
    from datacollect.integrations.erp.sap import SapConnector

    return {c.system: c for c in (SapConnector, NetSuiteConnector, OracleConnector)}


_connectors: dict[str, type[Connector]] | None = None


def connectors() -> dict[str, type[Connector]]:
    global _connectors
    if _connectors is None:
        found = _builtin()
        for ep in entry_points(group="datacollect.integrations"):
            try:
                cls = ep.load()
            except Exception:  # a broken plugin must not stop the platform
                log.exception("could not load integration plugin %s", ep.name)
                continue
            if isinstance(cls, type) and issubclass(cls, Connector) and cls.system:
                found.setdefault(cls.system, cls)
        _connectors = found
    return _connectors


def reference_for(item_key: str) -> str:
    """The external reference of an item: ``DC-`` and 24 hex digits of the SHA-256 of its
    idempotency key (``run_id/node_id/lane/index``). Letters, digits and ``-`` only (NetSuite's
    external ids allow no more), 27 characters (fits SAP's and Oracle's reference fields)."""
    return "DC-" + hashlib.sha256(item_key.encode()).hexdigest()[:24].upper()


__all__ = ["Connector", "Options", "Record", "Result", "connectors", "reference_for"]
