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
"""Snapshots, volumes from snapshots and clones, through cinderclient,
each checked on vCenter's side.

The stack's backend keeps upstream's default snapshot format (a template
copy of the backing), from which volumes are always full clones; linked
clones need COW snapshots (vmware_snapshot_format = COW) and get their case
with such a backend.
"""

from tests.e2e import test_services_and_pools as pools_view
from tests.e2e import vcenter


def test_snapshot_and_full_volume_from_it(cinder, vsphere, topology,
                                          volume_type, new_volume,
                                          new_snapshot):
    gold = volume_type('gold')
    source = new_volume(1, gold)
    vms_before = vcenter.vm_names(vsphere)

    snapshot = new_snapshot(source)
    # Upstream's default snapshot format is a template copy of the backing.
    assert vcenter.vm_names(vsphere) - vms_before == {
        'snapshot-%s' % snapshot.id}

    copy = new_volume(2, gold, snapshot_id=snapshot.id)
    backing = vcenter.backing(vsphere, copy)
    assert backing['cluster'] == 'gold'
    assert set(backing['datastores']) <= \
        pools_view.expected_pools(topology)['gold']
    assert backing['linked'] is False


def test_clone_of_a_volume(cinder, vsphere, volume_type, new_volume):
    source = new_volume(1, volume_type('silver'))

    clone = new_volume(1, volume_type('silver'), source_volid=source.id)

    backing = vcenter.backing(vsphere, clone)
    assert backing is not None
    assert backing['cluster'] == 'silver'
    assert backing['linked'] is False
