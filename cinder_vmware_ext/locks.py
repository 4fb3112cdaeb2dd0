# Copyright (c) 2026 cinder-vmware-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
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


@contextlib.contextmanager
def try_across_services(name):
    """Take a cross-service lock only if it is free now.

    As ``across_services`` when lock ``name`` is free now; yields
    whether it was taken.  Never waits: for a lock taken while another is
    held, where waiting could deadlock with a service doing the reverse.
    """
    local = local_lock(name)
    if not local.acquire(blocking=False):
        yield False
        return
    try:
        lock = coordinator_lock(name)
        if not lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            lock.release()
    finally:
        local.release()
