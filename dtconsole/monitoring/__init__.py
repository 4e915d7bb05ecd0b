"""Operations endpoints: /healthz for load balancers and /metrics for Prometheus.

Every value comes from the database (or the broker) when it is asked for, so any web
process answers the same, however many gunicorn processes and workers on other machines
there are. What only a worker sees, its DingTalk calls and the objects its jobs touched, is
added to small cumulative tables as it happens (``calls``, ``tallies``).
"""
