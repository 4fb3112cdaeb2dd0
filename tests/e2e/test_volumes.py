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
"""Volume operations through cinderclient, each checked on vCenter's side.

Later features (migration, QoS, manage, takeover) add their cases in
modules beside this one, with the ``volume_type`` and ``new_volume``
fixtures of conftest.py.
"""

import pytest

from tests.e2e import consumer
from tests.e2e import test_services_and_pools as pools_view
from tests.e2e import vcenter
from tests.e2e import waiting

GIB_IN_KB = 1024 * 1024


def pool_datastores(topology, pool):
    return pools_view.expected_pools(topology)[pool]


@pytest.mark.parametrize('pool', ['gold', 'silver'])
def test_create_show_places_backing_in_the_pool(
        cinder, vsphere, simulator, topology, volume_type, new_volume, pool):
    volume = new_volume(1, volume_type(pool))

    shown = cinder.volumes.get(volume.id)
    assert shown.size == 1
    assert getattr(shown, 'os-vol-host-attr:host') == \
        'cinder-stack@vmware#%s' % pool
    backing = vcenter.backing(vsphere, volume)
    assert backing is not None, 'no backing VM in vCenter'
    assert backing['cluster'] == pool
    assert set(backing['datastores']) <= pool_datastores(topology, pool)
    assert backing['disks_kb'] == [1 * GIB_IN_KB]
    assert vcenter.flat_file_bytes(simulator, backing['disk_files'][0]) == \
        1024 ** 3


def test_extend_offline_grows_the_disk(cinder, vsphere, simulator,
                                       volume_type, new_volume):
    volume = new_volume(1, volume_type('gold'))

    cinder.volumes.extend(volume, 3)
    volume = waiting.wait_status(cinder.volumes, volume, 'available')

    assert volume.size == 3
    # The disk's data file on the datastore (the simulator does not yet
    # refresh the VM's device capacity after ExtendVirtualDisk).
    disk_file = vcenter.backing(vsphere, volume)['disk_files'][0]
    assert vcenter.flat_file_bytes(simulator, disk_file) == 3 * 1024 ** 3


def test_lazy_create_makes_the_backing_at_first_use(
        cinder, vsphere, topology, volume_type, new_volume):
    vms_before = vcenter.vm_names(vsphere)
    volume = new_volume(1, volume_type('silver'), backing=False)
    assert vcenter.backing(vsphere, volume) is None
    assert vcenter.vm_names(vsphere) == vms_before

    consumer.first_use(cinder, volume)

    backing = vcenter.backing(vsphere, volume)
    assert backing['cluster'] == 'silver'
    assert set(backing['datastores']) <= pool_datastores(topology, 'silver')
    assert backing['disks_kb'] == [1 * GIB_IN_KB]


def test_delete_removes_the_backing(cinder, vsphere, volume_type):
    volume = cinder.volumes.create(1, volume_type=volume_type('silver').id)
    volume = waiting.wait_status(cinder.volumes, volume, 'available')
    consumer.first_use(cinder, volume)
    assert vcenter.backing(vsphere, volume) is not None

    cinder.volumes.delete(volume)
    waiting.wait_deleted(cinder.volumes, volume)

    assert vcenter.backing(vsphere, volume) is None


def test_volume_larger_than_any_datastore_fails_at_the_scheduler(
        cinder, vsphere, topology, volume_type, new_volume):
    largest_free = max(ds['free_gb'] for ds in
                       pools_view.datastores_by_name(topology).values())
    vms_before = vcenter.vm_names(vsphere)

    volume = new_volume(int(largest_free) + 1, volume_type('silver'),
                        wait='error')

    messages = [m for m in cinder.messages.list()
                if m.resource_uuid == volume.id]
    assert messages, 'no user message for the failed volume'
    assert 'No valid backend' in messages[0].user_message or \
        'weighted backend' in messages[0].user_message
    assert getattr(volume, 'os-vol-host-attr:host') is None
    assert vcenter.vm_names(vsphere) == vms_before
