"""The local runtime (``python -m local``): the stack of ``template.yaml`` in one process, without Docker.

- ``emulator``   moto's server, one request at a time
- ``template``   reads the template and resolves its intrinsics for a stage
- ``resources``  creates the template's tables, queues, buckets and email identities in the emulator
- ``functions``  the template's functions and their in-process execution environments
- ``gateway``    the API: HTTP requests become API Gateway proxy events
- ``poller``     SQS event sources, with Lambda's batch and partial-failure semantics
- ``schedules``  Schedule / ScheduleV2 events, fired at their rate or on demand
- ``standins``   the registry of stand-ins for the outside world, under ``/_local/``
- ``runtime``    starts and stops all of the above together
"""
