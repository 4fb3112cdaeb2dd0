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
"""Wait for Cinder resources the way an operator polls `cinder show`."""

import time


def wait_status(manager, resource, wanted, timeout=120):
    """Poll until the resource's status is one of ``wanted`` (a str or a
    tuple); fail early on ``error`` unless it is wanted."""
    wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    deadline = time.monotonic() + timeout
    while True:
        current = manager.get(resource.id)
        if current.status in wanted:
            return current
        if current.status.startswith('error'):
            raise AssertionError('%s %s went to %s (waiting for %s)' % (
                type(resource).__name__, resource.id, current.status,
                wanted))
        if time.monotonic() > deadline:
            raise AssertionError('%s %s still %s after %d s (waiting for %s)'
                                 % (type(resource).__name__, resource.id,
                                    current.status, timeout, wanted))
        time.sleep(0.5)


def wait_deleted(manager, resource, timeout=120):
    from cinderclient import exceptions
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            manager.get(resource.id)
        except exceptions.NotFound:
            return
        time.sleep(0.5)
    raise AssertionError('%s %s not deleted after %d s' % (
        type(resource).__name__, resource.id, timeout))
