"""The *when* machinery: the Huey task queue (what runs), the APScheduler process (when it
runs) and the sweeps that find what is due. Scheduler jobs only find and enqueue; worker
tasks do the work."""
