"""Training and its backends: ``fit``, runs in a child process, the queue, the spare process,
Redis workers."""
