"""Locks that hold across every cinder-volume service of the driver.

Taken through Cinder's own coordination layer (``cinder.coordination``,
tooz, ``[coordination] backend_url``: etcd, redis, zookeeper...), as
active-active services need.  Threads of one process queue on a local lock
first, so that one of them at a time competes for the distributed lock
(tooz clients retry a lock held elsewhere with a back-off of up to a
second, which many waiting threads would stretch).
"""

import contextlib
import threading

from cinder import coordination

_local = {}
_local_guard = threading.Lock()


def local_lock(name):
    """The lock ``name`` of this process (one per name)."""
    with _local_guard:
        return _local.setdefault(name, threading.Lock())


def coordinator_lock(name):
    """The tooz lock ``name`` of Cinder's coordinator."""
    return coordination.COORDINATOR.get_lock(name)


@contextlib.contextmanager
def across_services(name):
    """Hold lock ``name`` in this process and in the coordination backend."""
    with local_lock(name):
        with coordinator_lock(name):
            yield
