"""Running the followers and projections: in the web process, or in workers.

``processing`` runs them in the process that records the commands, right
after each commit (the embedded bank). ``workers`` runs them in processes of
their own on PostgreSQL (``manage.py run_processors``), one active and a
standby for each, woken by LISTEN/NOTIFY.
"""
