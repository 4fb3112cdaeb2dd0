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
"""Driver-assisted migration and retype across pools, through cinderclient.

Both move the backing VM with one RelocateVM_Task: the same VM (moref)
ends in the other cluster, on one of its datastores.  Cinder's generic
migration would instead create a new volume and copy the data, leaving a
new VM.
"""


from oslo_vmware import vim_util
import pytest

from tests.e2e import test_services_and_pools as pools_view
from tests.e2e import vcenter
from tests.e2e import waiting

HOST = 'cinder-stack@vmware'


@pytest.fixture(scope='module')
def any_pool_type(cinder):
    """A type any pool of the backend passes, so a volume may move."""
    vtype = cinder.volume_types.create('e2e-any-pool')
    vtype.set_keys({'volume_backend_name': 'vmware',
                    'vmware:vmdk_type': 'thin'})
    yield vtype
    cinder.volume_types.delete(vtype)


def backing_moref(session, volume):
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'VirtualMachine', 1000, ['name'])
    found = [vim_util.get_moref_value(o.obj) for o in result.objects
             if o.propSet[0].val == 'volume-%s' % volume.id]
    assert len(found) == 1, found
    return found[0]


def wait_migrated(cinder, volume, timeout=120):
    seen = {}

    def look():
        current = cinder.volumes.get(volume.id)
        migstat = getattr(current, 'os-vol-mig-status-attr:migstat')
        seen['state'] = 'status %s, migstat %s' % (current.status, migstat)
        if migstat in ('success', 'error') and current.status == 'available':
            assert migstat == 'success', current.status
            return current
        return None

    return waiting.until('volume %s migrated' % volume.id, look, timeout,
                         last=lambda: seen.get('state'))


def assert_in_pool(vsphere, topology, volume, pool, moref):
    assert getattr(volume, 'os-vol-host-attr:host') == '%s#%s' % (HOST, pool)
    backing = vcenter.backing(vsphere, volume)
    assert backing['cluster'] == pool
    assert set(backing['datastores']) <= \
        pools_view.expected_pools(topology)[pool]
    # The same VM, relocated: no copy through the cinder-volume host.
    assert backing_moref(vsphere, volume) == moref


def test_migrate_gold_volume_to_silver(cinder, vsphere, topology,
                                       volume_type, any_pool_type,
                                       new_volume):
    volume = new_volume(1, volume_type('gold'))
    moref = backing_moref(vsphere, volume)
    # A type that silver passes too (retype within the pool: no move).
    cinder.volumes.retype(volume, any_pool_type.id, 'never')
    volume = waiting.wait_status(cinder.volumes, volume, 'available')
    assert_in_pool(vsphere, topology, volume, 'gold', moref)

    cinder.volumes.migrate_volume(volume, HOST + '#silver',
                                  force_host_copy=False, lock_volume=False)
    volume = wait_migrated(cinder, volume)

    assert_in_pool(vsphere, topology, volume, 'silver', moref)


def test_retype_on_demand_to_a_type_of_the_other_pool(cinder, vsphere,
                                                      topology, volume_type,
                                                      new_volume):
    volume = new_volume(1, volume_type('silver'))
    moref = backing_moref(vsphere, volume)

    cinder.volumes.retype(volume, volume_type('gold').id, 'on-demand')
    volume = waiting.wait_status(cinder.volumes, volume, 'available')
    volume = waiting.until(
        'volume %s of type e2e-gold' % volume.id,
        lambda: [v for v in [cinder.volumes.get(volume.id)]
                 if v.volume_type == 'e2e-gold'], 60)[0]

    assert_in_pool(vsphere, topology, volume, 'gold', moref)
