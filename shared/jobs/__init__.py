"""Background work on procrastinate: digest jobs, broadcast messages and feed ingest.

- `queue.JobQueue`: the procrastinate app of a process, how a write enqueues a job in its
  own transaction, and the worker that runs jobs (embedded in the gateway, or on its own
  with `python -m gateway worker`).
- `tasks`: the task functions; they reach the database and upstreams through the
  process's `Runtime`, handed to them in the job context.
- `schedule`: intervals as the crons periodic tasks need (scheduled ingest).
- `stats`: what the queue holds per task, for `/metrics`, the dashboard and
  `python -m gateway jobs`.

On PostgreSQL the queue is procrastinate's tables (migration 0005): durable, shared by
every worker on every machine. On SQLite it is procrastinate's in-memory connector: the
same task functions, run by the gateway process itself, and lost with it.
"""
