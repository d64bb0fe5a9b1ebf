"""The ComfyUI servers behind the bot: the pool and each server's state (``pool``), health
checks (``health``), which server can run a job (``routing``) and what happens to its jobs when
one goes down (``failover``)."""
