"""Running DisComfy as a service: health and readiness probes, Prometheus metrics, searchable
(JSON) logs with each job's ids on every line, and a graceful stop on SIGTERM.

Nothing here changes what the bot does for its users; these modules watch it (metrics, probes,
log context) or stop it cleanly. ``discomfy run`` (``discomfy.bot.runner``) wires them up.
"""
