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
"""Datastore, host datastore system, cluster and SIOC operations of the
simulator, driven through oslo.vmware and checked by property reads and
the datastore directories."""

import os

from oslo_vmware import exceptions
from oslo_vmware import vim_util
import pytest

from tests.functional.simulator.test_simulator_topology import objects
from tests.functional.simulator.test_simulator_topology import refs

GiB = 1 << 30

TOPOLOGY = {'datacenters': [{
    'name': 'DC1',
    'clusters': [
        {'name': 'gold', 'hosts': [{'name': 'esx-01'}, {'name': 'esx-02'}]},
        {'name': 'silver', 'hosts': [
            {'name': 'esx-03', 'maintenance': True},
            {'name': 'esx-04', 'connection_state': 'disconnected'}]},
        {'name': 'bronze', 'hosts': [{'name': 'esx-05'}]}],
    'standalone_hosts': [{'name': 'esx-10', 'maintenance': True}],
    'datastores': [
        {'name': 'vmfs-01', 'capacity_gb': 100, 'free_gb': 40,
         'uncommitted_gb': 7,
         'mounts': [{'host': 'esx-01'}, {'host': 'esx-02'}]},
        {'name': 'shared-01', 'type': 'NFS', 'capacity_gb': 50, 'free_gb': 50,
         'mounts': [{'host': 'esx-01'}, {'host': 'esx-03'}]},
        {'name': 'silver-only', 'type': 'NFS41',
         'mounts': [{'host': 'esx-03'}, {'host': 'esx-04'}]},
        {'name': 'vsan-01', 'type': 'vsan', 'mounts': [{'host': 'esx-05'}]},
        {'name': 'gone-01', 'accessible': False,
         'mounts': [{'host': 'esx-05'}]},
        {'name': 'lonely', 'mounts': [{'host': 'esx-10'}]},
    ],
    'vms': [{'name': 'busy', 'host': 'esx-01', 'power_state': 'poweredOn',
             'disks': [{'datastore': 'vmfs-01', 'capacity_gb': 1}]}],
}]}


@pytest.fixture
def sim(start_simulator):
    return start_simulator(TOPOLOGY)


@pytest.fixture
def session(sim):
    return sim.session()


def fault_names(exc):
    names = set(getattr(exc, 'fault_list', None) or [])
    names.add(type(exc).__name__)
    return names


def moref(session, kind, name):
    return objects(session, kind, ['name'])[name]['_ref']


def prop(session, ref, name):
    return session.invoke_api(vim_util, 'get_object_property', session.vim,
                              ref, name)


def dss_of(session, host_name):
    host = moref(session, 'HostSystem', host_name)
    return prop(session, host, 'configManager').datastoreSystem


def call(session, method, ref, **kwargs):
    return session.invoke_api(session.vim, method, ref, **kwargs)


def run_task(session, method, ref, **kwargs):
    return session.wait_for_task(call(session, method, ref, **kwargs))


def nas_spec(session, name, remote_path='/exports/vol1', kind='NFS',
             mode='readWrite'):
    spec = session.vim.client.factory.create('ns0:HostNasVolumeSpec')
    spec.remoteHost = 'nas.example.com'
    spec.remotePath = remote_path
    spec.localPath = name
    spec.accessMode = mode
    spec.type = kind
    return spec


def mounts_of(session, ds_ref):
    hosts = {d['_ref'].value: n
             for n, d in objects(session, 'HostSystem', ['name']).items()}
    return {hosts[m.key.value]: m.mountInfo
            for m in refs(prop(session, ds_ref, 'host'), 'DatastoreHostMount')}


def datastore_names(session, ref, prop_name='datastore'):
    names = {d['_ref'].value: n
             for n, d in objects(session, 'Datastore', ['name']).items()}
    return sorted(names[r.value] for r in refs(prop(session, ref, prop_name)))


def test_nas_mount_from_two_hosts_shares_one_datastore(sim, session):
    ds = call(session, 'CreateNasDatastore', dss_of(session, 'esx-01'),
              spec=nas_spec(session, 'nfs-new', kind='NFS41'))
    summary = prop(session, ds, 'summary')
    assert summary.type == 'NFS41' and summary.multipleHostAccess is False
    assert summary.url == os.path.join(sim.datastore_root, 'nfs-new')
    assert os.path.isdir(summary.url)
    info = prop(session, ds, 'info')
    assert type(info).__name__ == 'NasDatastoreInfo'
    assert info.nas.remoteHost == 'nas.example.com'
    assert info.nas.remotePath == '/exports/vol1'

    again = call(session, 'CreateNasDatastore', dss_of(session, 'esx-05'),
                 spec=nas_spec(session, 'nfs-new', kind='NFS41',
                               mode='readOnly'))
    assert again.value == ds.value
    mounts = mounts_of(session, ds)
    assert sorted(mounts) == ['esx-01', 'esx-05']
    assert mounts['esx-01'].accessMode == 'readWrite'
    assert mounts['esx-05'].accessMode == 'readOnly'
    assert prop(session, ds, 'summary').multipleHostAccess is True
    assert 'nfs-new' in datastore_names(
        session, moref(session, 'HostSystem', 'esx-05'))
    assert 'nfs-new' in datastore_names(
        session, moref(session, 'ClusterComputeResource', 'bronze'))
    assert 'nfs-new' in datastore_names(
        session, moref(session, 'Datacenter', 'DC1'))

    with pytest.raises(exceptions.VimException) as err:
        call(session, 'CreateNasDatastore', dss_of(session, 'esx-01'),
             spec=nas_spec(session, 'nfs-new', kind='NFS41'))
    assert any(n.startswith('AlreadyExists') for n in fault_names(err.value))
    with pytest.raises(exceptions.VimException) as err:
        call(session, 'CreateNasDatastore', dss_of(session, 'esx-02'),
             spec=nas_spec(session, 'other-name', kind='NFS41'))
    assert 'DuplicateName' in fault_names(err.value)
    with pytest.raises(exceptions.VimException) as err:
        call(session, 'CreateNasDatastore', dss_of(session, 'esx-02'),
             spec=nas_spec(session, 'vmfs-01', remote_path='/exports/other'))
    assert 'DuplicateName' in fault_names(err.value)


def test_create_vmfs_and_local_datastores(sim, session):
    factory = session.vim.client.factory
    spec = factory.create('ns0:VmfsDatastoreCreateSpec')
    spec.diskUuid = 'disk-1'
    spec.partition = factory.create('ns0:HostDiskPartitionSpec')
    spec.partition.totalSectors = 2 * GiB // 512
    spec.vmfs = factory.create('ns0:HostVmfsSpec')
    spec.vmfs.volumeName = 'vmfs-new'
    spec.vmfs.extent = factory.create('ns0:HostScsiDiskPartition')
    spec.vmfs.extent.diskName = 'naa.1'
    spec.vmfs.extent.partition = 1
    ds = call(session, 'CreateVmfsDatastore', dss_of(session, 'esx-02'),
              spec=spec)
    summary = prop(session, ds, 'summary')
    assert (summary.type, summary.capacity, summary.freeSpace) == (
        'VMFS', 2 * GiB, 2 * GiB)
    assert type(prop(session, ds, 'info')).__name__ == 'VmfsDatastoreInfo'
    assert sorted(mounts_of(session, ds)) == ['esx-02']

    local = call(session, 'CreateLocalDatastore', dss_of(session, 'esx-05'),
                 name='local-new', path='local-new')
    summary = prop(session, local, 'summary')
    assert summary.type == 'OTHER'
    assert type(prop(session, local, 'info')).__name__ == 'LocalDatastoreInfo'
    assert os.path.isdir(os.path.join(sim.datastore_root, 'local-new'))


def test_remove_datastore_unmounts_then_drops_it(sim, session):
    shared = moref(session, 'Datastore', 'shared-01')
    call(session, 'RemoveDatastore', dss_of(session, 'esx-03'),
         datastore=shared)
    assert sorted(mounts_of(session, shared)) == ['esx-01']
    assert prop(session, shared, 'summary').multipleHostAccess is False
    assert 'shared-01' not in datastore_names(
        session, moref(session, 'HostSystem', 'esx-03'))
    assert 'shared-01' not in datastore_names(
        session, moref(session, 'ClusterComputeResource', 'silver'))
    assert 'shared-01' in datastore_names(
        session, moref(session, 'ClusterComputeResource', 'gold'))

    call(session, 'RemoveDatastore', dss_of(session, 'esx-01'),
         datastore=shared)
    assert 'shared-01' not in objects(session, 'Datastore', ['name'])
    assert 'shared-01' not in datastore_names(
        session, moref(session, 'Datacenter', 'DC1'))
    assert os.path.isdir(os.path.join(sim.datastore_root, 'shared-01'))

    with pytest.raises(exceptions.VimException) as err:
        call(session, 'RemoveDatastore', dss_of(session, 'esx-01'),
             datastore=moref(session, 'Datastore', 'vmfs-01'))
    assert 'ResourceInUse' in fault_names(err.value)
    # esx-02 has no VM there: it can let go.
    call(session, 'RemoveDatastore', dss_of(session, 'esx-02'),
         datastore=moref(session, 'Datastore', 'vmfs-01'))
    vmfs = moref(session, 'Datastore', 'vmfs-01')
    assert sorted(mounts_of(session, vmfs)) == ['esx-01']


def test_rename_datastore(sim, session):
    ds = moref(session, 'Datastore', 'vmfs-01')
    run_task(session, 'Rename_Task', ds, newName='vmfs-renamed')
    assert prop(session, ds, 'name') == 'vmfs-renamed'
    assert prop(session, ds, 'summary').name == 'vmfs-renamed'
    assert prop(session, ds, 'info').name == 'vmfs-renamed'
    call(session, 'RenameDatastore', ds, newName='vmfs-again')
    assert prop(session, ds, 'summary').name == 'vmfs-again'
    # The files stay where they are and are found under the new name.
    url = prop(session, ds, 'summary').url
    assert url == os.path.join(sim.datastore_root, 'vmfs-01')
    assert os.path.isfile(os.path.join(url, 'busy', 'busy.vmdk'))
    with pytest.raises(exceptions.VimException) as err:
        call(session, 'RenameDatastore', ds, newName='shared-01')
    assert 'DuplicateName' in fault_names(err.value)
    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'Rename_Task', ds, newName='shared-01')
    assert 'DuplicateName' in fault_names(err.value)


def test_refresh_keeps_the_inventory_figures(session):
    ds = moref(session, 'Datastore', 'vmfs-01')
    call(session, 'RefreshDatastore', ds)
    summary = prop(session, ds, 'summary')
    assert (summary.capacity, summary.freeSpace, summary.uncommitted) == (
        100 * GiB, 40 * GiB, 7 * GiB)
    assert prop(session, ds, 'info').freeSpace == 40 * GiB


def test_datastore_maintenance_mode(session):
    busy = moref(session, 'Datastore', 'vmfs-01')
    with pytest.raises(exceptions.VimException) as err:
        call(session, 'DatastoreEnterMaintenanceMode', busy)
    assert 'InvalidState' in fault_names(err.value)
    ds = moref(session, 'Datastore', 'shared-01')
    call(session, 'DatastoreEnterMaintenanceMode', ds)
    assert prop(session, ds, 'summary').maintenanceMode == 'inMaintenance'
    with pytest.raises(exceptions.VimException):
        call(session, 'DatastoreEnterMaintenanceMode', ds)
    run_task(session, 'DatastoreExitMaintenanceMode_Task', ds)
    assert prop(session, ds, 'summary').maintenanceMode == 'normal'
    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'DatastoreExitMaintenanceMode_Task', ds)
    assert 'InvalidState' in fault_names(err.value)


def test_cluster_destroy(sim, session):
    gold = moref(session, 'ClusterComputeResource', 'gold')
    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'Destroy_Task', gold)
    assert 'InvalidState' in fault_names(err.value)
    assert 'gold' in objects(session, 'ClusterComputeResource', ['name'])

    # silver: esx-03 in maintenance, esx-04 disconnected -> removable.
    silver = moref(session, 'ClusterComputeResource', 'silver')
    run_task(session, 'Destroy_Task', silver)
    assert 'silver' not in objects(session, 'ClusterComputeResource', ['name'])
    hosts = objects(session, 'HostSystem', ['name'])
    assert 'esx-03' not in hosts and 'esx-04' not in hosts
    datastores = objects(session, 'Datastore', ['name'])
    assert 'silver-only' not in datastores
    shared = datastores['shared-01']['_ref']
    assert sorted(mounts_of(session, shared)) == ['esx-01']
    assert os.path.isdir(os.path.join(sim.datastore_root, 'silver-only'))


def test_create_cluster_ex(session):
    dc = moref(session, 'Datacenter', 'DC1')
    host_folder = prop(session, dc, 'hostFolder')
    spec = session.vim.client.factory.create('ns0:ClusterConfigSpecEx')
    ref = call(session, 'CreateClusterEx', host_folder, name='platinum',
               spec=spec)
    assert ref._type == 'ClusterComputeResource'
    assert prop(session, ref, 'name') == 'platinum'
    assert prop(session, ref, 'resourcePool').value
    with pytest.raises(exceptions.VimException) as err:
        call(session, 'CreateClusterEx', host_folder, name='gold', spec=spec)
    assert 'DuplicateName' in fault_names(err.value)


def iorm_spec(session, **fields):
    spec = session.vim.client.factory.create('ns0:StorageIORMConfigSpec')
    for k, v in fields.items():
        setattr(spec, k, v)
    return spec


def test_storage_io_control(session):
    srm = session.vim.service_content.storageResourceManager
    option = call(session, 'QueryIORMConfigOption', srm,
                  host=moref(session, 'HostSystem', 'esx-01'))
    assert option.enabledOption.supported is True
    threshold = option.congestionThresholdOption
    assert (threshold.min, threshold.max,
            threshold.defaultValue) == (5, 100, 30)

    ds = moref(session, 'Datastore', 'vmfs-01')
    run_task(session, 'ConfigureDatastoreIORM_Task', srm, datastore=ds,
             spec=iorm_spec(session, enabled=True,
                            congestionThresholdMode='manual',
                            congestionThreshold=45,
                            statsCollectionEnabled=True))
    iorm = prop(session, ds, 'iormConfiguration')
    assert iorm.enabled is True and iorm.congestionThresholdMode == 'manual'
    assert iorm.congestionThreshold == 45
    assert iorm.statsCollectionEnabled is True
    assert iorm.percentOfPeakThroughput == 90
    assert iorm.reservationEnabled is True

    run_task(session, 'ConfigureDatastoreIORM_Task', srm, datastore=ds,
             spec=iorm_spec(session, percentOfPeakThroughput=70))
    iorm = prop(session, ds, 'iormConfiguration')
    assert iorm.percentOfPeakThroughput == 70
    assert iorm.congestionThreshold == 45

    for bad in ({'congestionThreshold': 4}, {'congestionThreshold': 101},
                {'percentOfPeakThroughput': 49},
                {'congestionThresholdMode': 'sometimes'}):
        with pytest.raises(exceptions.VimException) as err:
            run_task(session, 'ConfigureDatastoreIORM_Task', srm, datastore=ds,
                     spec=iorm_spec(session, **bad))
        assert 'InvalidArgument' in fault_names(err.value), bad
    assert prop(session, ds, 'iormConfiguration').congestionThreshold == 45

    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'ConfigureDatastoreIORM_Task', srm,
                 datastore=moref(session, 'Datastore', 'vsan-01'),
                 spec=iorm_spec(session, enabled=True))
    assert 'IORMNotSupportedHostOnDatastore' in fault_names(err.value)
    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'ConfigureDatastoreIORM_Task', srm,
                 datastore=moref(session, 'Datastore', 'gone-01'),
                 spec=iorm_spec(session, enabled=True))
    assert 'InaccessibleDatastore' in fault_names(err.value)


def test_host_maintenance_and_destroy(sim, session):
    esx02 = moref(session, 'HostSystem', 'esx-02')
    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'Destroy_Task', esx02)
    assert 'InvalidState' in fault_names(err.value)
    run_task(session, 'EnterMaintenanceMode_Task', esx02, timeout=0)
    assert prop(session, esx02, 'runtime').inMaintenanceMode is True
    assert prop(session, esx02, 'summary.runtime').inMaintenanceMode is True
    run_task(session, 'Destroy_Task', esx02)
    assert 'esx-02' not in objects(session, 'HostSystem', ['name'])
    gold = moref(session, 'ClusterComputeResource', 'gold')
    hosts = {d['_ref'].value: n
             for n, d in objects(session, 'HostSystem', ['name']).items()}
    gold_hosts = refs(prop(session, gold, 'host'))
    assert [hosts[r.value] for r in gold_hosts] == ['esx-01']
    vmfs = moref(session, 'Datastore', 'vmfs-01')
    assert sorted(mounts_of(session, vmfs)) == ['esx-01']

    # A standalone host takes its compute resource and lone datastore along.
    run_task(session, 'Destroy_Task', moref(session, 'HostSystem', 'esx-10'))
    assert 'esx-10' not in objects(session, 'ComputeResource', ['name'])
    assert 'lonely' not in objects(session, 'Datastore', ['name'])

    esx05 = moref(session, 'HostSystem', 'esx-05')
    run_task(session, 'EnterMaintenanceMode_Task', esx05, timeout=0)
    run_task(session, 'ExitMaintenanceMode_Task', esx05, timeout=0)
    assert prop(session, esx05, 'runtime').inMaintenanceMode is False


def test_destroy_datastore(sim, session):
    with pytest.raises(exceptions.VimException) as err:
        run_task(session, 'Destroy_Task',
                 moref(session, 'Datastore', 'vmfs-01'))
    assert 'ResourceInUse' in fault_names(err.value)
    shared = moref(session, 'Datastore', 'shared-01')
    run_task(session, 'Destroy_Task', shared)
    assert 'shared-01' not in objects(session, 'Datastore', ['name'])
    for host in ('esx-01', 'esx-03'):
        ref = moref(session, 'HostSystem', host)
        assert 'shared-01' not in datastore_names(session, ref)
        dss = prop(session, ref, 'configManager').datastoreSystem
        assert 'shared-01' not in datastore_names(session, dss)
    assert 'shared-01' not in datastore_names(
        session, moref(session, 'Datacenter', 'DC1'))
    assert 'shared-01' not in datastore_names(
        session, moref(session, 'ClusterComputeResource', 'gold'))
