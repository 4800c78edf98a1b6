"""The request core: what the Airflow and the Kestra clients share, knowing neither API.

* :mod:`.effects`: what a sans-I/O operation yields (a request, a :class:`~.effects.Delay`, the
  time, blocking work, a signal to wait for, a gather of operations) and the driving loop's shared part;
* :mod:`.session`: :class:`~.session.HttpSession`, one request with retries, per-session state;
* :mod:`.drivers`: the sync and async drivers, which only execute effects (and own the response lifetime);
* :mod:`.operation`: ``@operation``, a client method declared once for both drivers;
* :mod:`.retry`: the :class:`~.retry.RetryPolicy`;
* :mod:`.auth`: auth-flow building blocks (anonymous requests, bearer tokens);
* :mod:`.errors`: the failure kinds the core can tell (a server not reached, an error status).

The API layers (:mod:`kestra_airflow_sdk.airflow`, :mod:`kestra_airflow_sdk.kestra`) build on it and
map its failures onto their own errors; an import-linter contract keeps it from importing them.
"""
