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
"""Which attaches get a staging VM (extensions/restore.py): pure logic."""

import pytest

from cinder_vmware_ext.extensions import restore

BRICK = {'platform': 'x86_64', 'os_type': 'linux', 'host': 'backup-1'}


@pytest.mark.parametrize('status, connector, staged', [
    ('restoring-backup', BRICK, True),
    # A backup reads the volume's own disk.
    ('backing-up', BRICK, False),
    ('available', BRICK, False),
    ('in-use', BRICK, False),
    # Not os-brick's VmdkConnector (Nova's attach gives no platform).
    ('restoring-backup', {'host': 'compute-1'}, False),
    ('restoring-backup', {'platform': 'x86_64'}, False),
    ('restoring-backup', None, False),
])
def test_only_a_restore_through_os_brick_is_staged(
        status, connector, staged):
    assert bool(restore._restoring({'status': status}, connector)) is staged
