"""Volume operations through cinderclient, each checked on vCenter's side.

Later features (snapshots, clones, migration, QoS, manage) add their
cases beside these, reusing the ``volume_type`` and ``new_volume``
fixtures.
"""

import pytest

from tests.e2e import test_services_and_pools as pools_view
from tests.e2e import vcenter
from tests.e2e import waiting

GIB_IN_KB = 1024 * 1024


@pytest.fixture(scope='module')
def volume_type(cinder, clusters):
    """volume_type(pool) -> a thin type pinned to that pool (the operator's
    way to choose a cluster), created once per pool."""
    made = {}

    def get(pool):
        if pool not in made:
            vtype = cinder.volume_types.create('e2e-%s' % pool)
            vtype.set_keys({'volume_backend_name': 'vmware',
                            'pool_name': pool,
                            'vmware:vmdk_type': 'thin'})
            made[pool] = vtype
        return made[pool]

    yield get
    for vtype in made.values():
        cinder.volume_types.delete(vtype)


@pytest.fixture
def new_volume(cinder):
    """new_volume(size, type, wait=...) -> the volume once it reached its
    status; every volume made is deleted at the end of the test."""
    made = []

    def create(size, vtype, wait='available', **kwargs):
        volume = cinder.volumes.create(size, volume_type=vtype.id, **kwargs)
        made.append(volume)
        return waiting.wait_status(cinder.volumes, volume, wait)

    yield create
    for volume in made:
        cinder.volumes.delete(volume, cascade=True)
    for volume in made:
        waiting.wait_deleted(cinder.volumes, volume)


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


def test_delete_removes_the_backing(cinder, vsphere, volume_type):
    volume = cinder.volumes.create(1, volume_type=volume_type('silver').id)
    volume = waiting.wait_status(cinder.volumes, volume, 'available')
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
