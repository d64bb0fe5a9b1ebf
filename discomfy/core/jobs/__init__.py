"""A job's life on our side: what a job is (``job``), which state it may move to (``transitions``),
where it is kept (``store``, with its schema ``migrations`` and its row encoding and write guard in
``rows``), who runs next (``queue``, the fair per-user queue) and how one run's events become a
result (``execution``). Nothing here knows about Discord or about any server."""
