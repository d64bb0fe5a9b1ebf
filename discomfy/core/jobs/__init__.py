"""A job's life on our side: what a job is (``job``), where it is kept (``store``, with its
schema ``migrations``), who runs next (``queue``, the fair per-user queue) and how one run's
events become a result (``execution``). Nothing here knows about Discord or about any server."""
