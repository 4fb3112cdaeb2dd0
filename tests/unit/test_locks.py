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
"""locks.try_across_services: takes a free lock, never waits for a held
one (local or in the coordination backend)."""

import threading

from cinder_vmware_ext import locks


class FakeCoordinatorLock(object):
    """Fake a tooz lock over one shared threading.Lock.

    A tooz lock's acquire/release over one shared threading.Lock (the
    backend's view: held by another service or not).
    """

    def __init__(self, lock):
        self._lock = lock

    def acquire(self, blocking=True):
        return self._lock.acquire(blocking)

    def release(self):
        self._lock.release()


def test_try_across_services(monkeypatch):
    backend = {}
    monkeypatch.setattr(locks, 'coordinator_lock', lambda name: (
        FakeCoordinatorLock(backend.setdefault(name, threading.Lock()))))
    with locks.try_across_services('cache-a') as held:
        assert held
        # Held by this process: a second try does not wait.
        with locks.try_across_services('cache-a') as again:
            assert not again
    # Released on exit, locally and in the backend.
    assert not backend['cache-a'].locked()
    with locks.try_across_services('cache-a') as held:
        assert held
    # Held by another service (the backend's lock only): not taken, and
    # the local lock is released again.
    backend['cache-a'].acquire()
    with locks.try_across_services('cache-a') as held:
        assert not held
    assert not locks.local_lock('cache-a').locked()
    backend['cache-a'].release()
