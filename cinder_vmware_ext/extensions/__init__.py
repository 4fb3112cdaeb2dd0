"""Driver extensions beyond upstream: snapshots and clones, QoS and online
extend, migration and retype.

Each module holds one mixin class that ``VMwareVcVmdkExtDriver`` inherits
before upstream's ``VMwareVcVmdkDriver``; a mixin's method does its own work
and calls ``super()`` to fall back to upstream's behaviour.
"""
