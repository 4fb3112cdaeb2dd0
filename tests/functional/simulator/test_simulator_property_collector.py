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
"""The simulator's PropertyCollector, driven via oslo.vmware (TLS verified).

oslo.vmware's recursive traversal spec (vim_util.get_objects), paging with
maxObjects and tokens, indexed property paths such as
config.extraConfig["cinder.volume.id"], InvalidProperty for unknown names,
upstream Cinder's volumeops calls built on them, and versioned
WaitForUpdatesEx (initial, incremental, timeout, cancel, containers), whose
incremental reports follow the simulator's change journal: changes made
behind the clients' backs (admin API), by SOAP methods, objects entering
and leaving a view, several collectors, maxObjectUpdates pages.
"""

import threading
import time

from cinder.volume.drivers.vmware import volumeops as cinder_volumeops
from oslo_vmware import exceptions
from oslo_vmware import vim_util
import pytest


GiB = 1 << 30
DATASTORES = ['ds-%02d' % i for i in range(1, 6)]

TOPOLOGY = {'datacenters': [
    {'name': 'DC1',
     'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'},
                                             {'name': 'esx-02'}]}],
     'standalone_hosts': [{'name': 'esx-10'}],
     'datastores': [
         {'name': name, 'type': 'NFS', 'capacity_gb': 100,
          'free_gb': 50 + i,
          'mounts': [{'host': 'esx-01'}, {'host': 'esx-02'},
                     {'host': 'esx-10'}]}
         for i, name in enumerate(DATASTORES)],
     'vms': [
         {'name': 'vm-a', 'host': 'esx-01',
          'disks': [{'datastore': 'ds-01', 'path': 'vm-a/vm-a.vmdk',
                     'capacity_gb': 1, 'thin': True}]},
         {'name': 'vm-b', 'host': 'esx-02'},
         {'name': 'vm-c', 'host': 'esx-10'}]},
    {'name': 'DC2',
     'standalone_hosts': [{'name': 'esx-20'}],
     'datastores': [{'name': 'dc2-ds', 'mounts': [{'host': 'esx-20'}]}],
     'vms': [{'name': 'vm-d', 'host': 'esx-20'}]},
]}


@pytest.fixture(scope='module')
def session(sim):
    return sim.session()


def all_objects(session, type_, props, max_objects=100):
    """Every object of a type with its properties, following tokens."""
    vim = session.vim
    result = session.invoke_api(vim_util, 'get_objects', vim, type_,
                                max_objects, props)
    out = {}
    with vim_util.WithRetrieval(vim, result) as objects:
        for obj in objects:
            out[obj.obj.value] = {p.name: p.val
                                  for p in getattr(obj, 'propSet', [])}
    return out


def by_name(session, type_):
    return {props['name']: vim_util.get_moref(value, type_)
            for value, props in all_objects(session, type_, ['name']).items()}


def prop(session, moref, name):
    return session.invoke_api(vim_util, 'get_object_property',
                              session.vim, moref, name)


def test_recursive_traversal_reaches_everything_and_finishes(session):
    # oslo.vmware's spec goes rp_to_vm and on from the VM through
    # "resourcePool" unless type is honoured: that used to overflow the
    # simulator's stack.
    assert sorted(by_name(session, 'Datastore')) == sorted(DATASTORES
                                                           + ['dc2-ds'])
    assert sorted(by_name(session, 'HostSystem')) == [
        'esx-01', 'esx-02', 'esx-10', 'esx-20']
    assert sorted(by_name(session, 'VirtualMachine')) == [
        'vm-a', 'vm-b', 'vm-c', 'vm-d']
    assert sorted(by_name(session, 'ClusterComputeResource')) == ['gold']
    # ComputeResource includes its subtype ClusterComputeResource
    assert len(by_name(session, 'ComputeResource')) == 3
    assert len(by_name(session, 'Datacenter')) == 2


def test_paging_one_object_per_page(session):
    vim = session.vim
    result = session.invoke_api(vim_util, 'get_objects', vim, 'Datastore', 1,
                                ['name'])
    pages = []
    while result:
        pages.append([o.propSet[0].val for o in result.objects])
        result = session.invoke_api(vim_util, 'continue_retrieval', vim,
                                    result)
    assert len(pages) == len(DATASTORES) + 1
    assert all(len(p) == 1 for p in pages)
    assert sorted(sum(pages, [])) == sorted(DATASTORES + ['dc2-ds'])


def test_pages_are_a_snapshot_of_the_first_call(sim, session):
    vim = session.vim
    result = session.invoke_api(vim_util, 'get_objects', vim, 'Datastore', 2,
                                ['name', 'summary.freeSpace'])
    before = {o.propSet[0].val: o.propSet[1].val for o in result.objects}
    for name in DATASTORES:
        sim.set_datastore(name, free_gb=1)
    try:
        seen = dict(before)
        while True:
            result = session.invoke_api(vim_util, 'continue_retrieval', vim,
                                        result)
            if not result:
                break
            seen.update({o.propSet[0].val: o.propSet[1].val
                         for o in result.objects})
        expected = {name: (50 + i) * GiB for i, name in enumerate(DATASTORES)}
        assert {k: v for k, v in seen.items() if k in expected} == expected
    finally:
        for i, name in enumerate(DATASTORES):
            sim.set_datastore(name, free_gb=50 + i)


def test_cancel_and_expired_tokens(session):
    vim = session.vim
    pc = vim.service_content.propertyCollector
    result = session.invoke_api(vim_util, 'get_objects', vim, 'Datastore', 1)
    token = result.token
    session.invoke_api(vim_util, 'cancel_retrieval', vim, result)
    with pytest.raises(exceptions.VimFaultException) as err:
        session.invoke_api(vim, 'ContinueRetrievePropertiesEx', pc,
                           token=token)
    assert 'InvalidArgument' in err.value.fault_list
    with pytest.raises(exceptions.VimFaultException) as err:
        session.invoke_api(vim, 'CancelRetrievePropertiesEx', pc, token=token)
    assert 'InvalidArgument' in err.value.fault_list

    # a token expires with its last page
    result = session.invoke_api(vim_util, 'get_objects', vim, 'HostSystem', 3)
    token = result.token
    last = session.invoke_api(vim_util, 'continue_retrieval', vim, result)
    assert len(last.objects) == 1 and not getattr(last, 'token', None)
    with pytest.raises(exceptions.VimFaultException) as err:
        session.invoke_api(vim, 'ContinueRetrievePropertiesEx', pc,
                           token=token)
    assert 'InvalidArgument' in err.value.fault_list


def test_no_match_returns_no_result(session):
    # vCenter sends no returnval when nothing matches; oslo.vmware then
    # checks its session and returns an empty list.
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'StoragePod', 10)
    assert not result


@pytest.mark.parametrize('path', ['bogus', 'summary.bogus', 'name.x',
                                  'host.key', 'config.extraConfig[',
                                  'summary["a"]'])
def test_unknown_property_is_invalid_property(session, path):
    ds = by_name(session, 'Datastore')['ds-01']
    with pytest.raises(exceptions.InvalidPropertyException):
        prop(session, ds, path)


def test_unset_property_is_absent(session):
    vm = by_name(session, 'VirtualMachine')['vm-b']
    assert prop(session, vm, 'parentVApp') is None
    assert prop(session, vm, 'name') == 'vm-b'


def set_extra_config(session, vm, key, value):
    factory = session.vim.client.factory
    spec = factory.create('ns0:VirtualMachineConfigSpec')
    opt = factory.create('ns0:OptionValue')
    opt.key, opt.value = key, value
    spec.extraConfig = [opt]
    task = session.invoke_api(session.vim, 'ReconfigVM_Task', vm, spec=spec)
    session.wait_for_task(task)


def test_indexed_extra_config(session):
    vms = by_name(session, 'VirtualMachine')
    set_extra_config(session, vms['vm-a'], 'cinder.volume.id', 'vol-123')
    path = 'config.extraConfig["cinder.volume.id"]'
    opt = prop(session, vms['vm-a'], path)
    assert (opt.key, opt.value) == ('cinder.volume.id', 'vol-123')
    assert prop(session, vms['vm-b'], path) is None

    props = all_objects(session, 'VirtualMachine', ['name', path])
    found = {p['name']: p.get(path) for p in props.values()}
    assert found['vm-a'].value == 'vol-123'
    assert found['vm-b'] is None and found['vm-c'] is None


def test_indexed_device_by_key(session):
    vm = by_name(session, 'VirtualMachine')['vm-a']
    devices = prop(session, vm, 'config.hardware.device').VirtualDevice
    disk = [d for d in devices if d.__class__.__name__ == 'VirtualDisk'][0]
    got = prop(session, vm, 'config.hardware.device[%d]' % disk.key)
    assert got.__class__.__name__ == 'VirtualDisk'
    assert got.key == disk.key
    assert got.backing.fileName == disk.backing.fileName
    assert prop(session, vm, 'config.hardware.device[999999]') is None


def test_upstream_volumeops_backing_cache_and_uuid_lookup(session):
    vms = by_name(session, 'VirtualMachine')
    uuid_a = prop(session, vms['vm-a'], 'config.instanceUuid')
    # a backing whose instance uuid is its volume id needs no cache entry
    set_extra_config(session, vms['vm-a'], 'cinder.volume.id', uuid_a)
    set_extra_config(session, vms['vm-b'], 'cinder.volume.id', 'vol-b')
    ops = cinder_volumeops.VMwareVolumeOps(session, 1, 'org.openstack.storage',
                                           'volume')
    ops.build_backing_ref_cache()
    assert sorted(ops._backing_ref_cache) == ['vm-b', 'vm-c', 'vm-d']
    assert ops._backing_ref_cache['vm-b'].value == vms['vm-b'].value
    assert ops.get_backing_by_uuid(uuid_a).value == vms['vm-a'].value
    assert ops.get_backing_by_uuid('00000000-0000-0000-0000-000000000000') \
        is None


# --- WaitForUpdatesEx ---------------------------------------------------

class Watcher(object):
    """A property collector of its own, with a filter over a ContainerView."""

    def __init__(self, session, type_, paths):
        self.session = session
        vim = session.vim
        self.factory = vim.client.factory
        sc = vim.service_content
        self.pc = session.invoke_api(vim, 'CreatePropertyCollector',
                                     sc.propertyCollector)
        self.view = session.invoke_api(vim, 'CreateContainerView',
                                       sc.viewManager, container=sc.rootFolder,
                                       type=[type_], recursive=True)
        trav = self.factory.create('ns0:TraversalSpec')
        trav.name, trav.type, trav.path, trav.skip = (
            'view', 'ContainerView', 'view', False)
        obj = self.factory.create('ns0:ObjectSpec')
        obj.obj, obj.skip, obj.selectSet = self.view, True, [trav]
        prop_spec = self.factory.create('ns0:PropertySpec')
        prop_spec.type, prop_spec.pathSet = type_, paths
        spec = self.factory.create('ns0:PropertyFilterSpec')
        spec.propSet, spec.objectSet = [prop_spec], [obj]
        self.filter = session.invoke_api(vim, 'CreateFilter', self.pc,
                                         spec=spec, partialUpdates=False)
        self.version = ''

    def wait(self, max_wait=5, max_updates=None):
        options = self.factory.create('ns0:WaitOptions')
        options.maxWaitSeconds = max_wait
        if max_updates:
            options.maxObjectUpdates = max_updates
        result = self.session.invoke_api(self.session.vim, 'WaitForUpdatesEx',
                                         self.pc, version=self.version,
                                         options=options)
        self.truncated = False
        if not result:
            return None
        self.version = result.version
        self.truncated = bool(getattr(result, 'truncated', False))
        return [(o.kind, o.obj.value,
                 {c.name: getattr(c, 'val', None)
                  for c in getattr(o, 'changeSet', [])})
                for fs in result.filterSet for o in fs.objectSet]

    def destroy(self):
        vim = self.session.vim
        self.session.invoke_api(vim, 'DestroyPropertyCollector', self.pc)
        self.session.invoke_api(vim, 'DestroyView', self.view)


@pytest.fixture
def ds_watcher(session):
    w = Watcher(session, 'Datastore', ['name', 'summary'])
    yield w
    w.destroy()


def test_initial_then_nothing_then_summary_change(sim, session, ds_watcher):
    first = ds_watcher.wait()
    assert {k for k, _, _ in first} == {'enter'}
    names = {c['name']: c['summary'].freeSpace for _, _, c in first}
    assert sorted(names) == sorted(DATASTORES + ['dc2-ds'])
    assert names['ds-02'] == 51 * GiB

    start = time.monotonic()
    assert ds_watcher.wait(max_wait=0) is None
    assert time.monotonic() - start < 1
    start = time.monotonic()
    assert ds_watcher.wait(max_wait=1) is None
    assert 0.9 < time.monotonic() - start < 3

    sim.set_datastore('ds-02', free_gb=7)
    try:
        [(kind, _, changes)] = ds_watcher.wait()
        assert kind == 'modify'
        assert list(changes) == ['summary']
        assert changes['summary'].freeSpace == 7 * GiB
        assert changes['summary'].name == 'ds-02'
        assert ds_watcher.wait(max_wait=0) is None
    finally:
        sim.set_datastore('ds-02', free_gb=51)
    assert ds_watcher.wait()[0][0] == 'modify'


def test_summary_change_from_create_virtual_disk(session, ds_watcher):
    ds_watcher.wait()
    vim = session.vim
    dc = by_name(session, 'Datacenter')['DC1']
    spec = vim.client.factory.create('ns0:FileBackedVirtualDiskSpec')
    spec.diskType, spec.adapterType, spec.capacityKb = (
        'eagerZeroedThick', 'lsiLogic', 1024 * 1024)
    task = session.invoke_api(vim, 'CreateVirtualDisk_Task',
                              vim.service_content.virtualDiskManager,
                              name='[ds-03] pc-test-disk.vmdk',
                              datacenter=dc, spec=spec)
    session.wait_for_task(task)
    try:
        ds = by_name(session, 'Datastore')['ds-03']
        if prop(session, ds, 'summary.freeSpace') == 52 * GiB:
            pytest.skip('CreateVirtualDisk_Task does not charge datastores '
                        'yet')
        [(kind, _, changes)] = ds_watcher.wait()
        assert kind == 'modify'
        assert changes['summary'].name == 'ds-03'
        assert changes['summary'].freeSpace == 51 * GiB
    finally:
        task = session.invoke_api(vim, 'DeleteVirtualDisk_Task',
                                  vim.service_content.virtualDiskManager,
                                  name='[ds-03] pc-test-disk.vmdk',
                                  datacenter=dc)
        session.wait_for_task(task)
    [(kind, _, changes)] = ds_watcher.wait()
    assert changes['summary'].freeSpace == 52 * GiB


def test_host_runtime_change(sim, session):
    w = Watcher(session, 'HostSystem', ['name', 'runtime'])
    try:
        first = w.wait()
        assert sorted(c['name'] for _, _, c in first) == [
            'esx-01', 'esx-02', 'esx-10', 'esx-20']
        sim.set_host('esx-02', maintenance=True)
        try:
            [(kind, _, changes)] = w.wait()
            assert kind == 'modify' and list(changes) == ['runtime']
            assert changes['runtime'].inMaintenanceMode is True
        finally:
            sim.set_host('esx-02', maintenance=False)
        [(kind, _, changes)] = w.wait()
        assert changes['runtime'].inMaintenanceMode is False
    finally:
        w.destroy()


def test_datastore_enters_and_leaves_the_view(sim, session, ds_watcher):
    vim = session.vim
    ds_watcher.wait()
    host = by_name(session, 'HostSystem')['esx-10']
    dss = prop(session, host, 'configManager.datastoreSystem')
    spec = vim.client.factory.create('ns0:HostNasVolumeSpec')
    spec.remoteHost, spec.remotePath, spec.localPath = (
        'nfs.example', '/exports/new', 'pc-new')
    spec.accessMode, spec.type = 'readWrite', 'NFS'
    new = session.invoke_api(vim, 'CreateNasDatastore', dss, spec=spec)
    [(kind, value, changes)] = ds_watcher.wait()
    assert (kind, value, changes['name']) == ('enter', new.value, 'pc-new')

    session.invoke_api(vim, 'RemoveDatastore', dss, datastore=new)
    assert ds_watcher.wait() == [('leave', new.value, {})]
    assert ds_watcher.wait(max_wait=0) is None


def test_stale_version_is_refused(ds_watcher):
    ds_watcher.wait()
    current = ds_watcher.version
    ds_watcher.version = 'no-such-version'
    with pytest.raises(exceptions.VimFaultException) as err:
        ds_watcher.wait(max_wait=0)
    assert 'InvalidCollectorVersion' in err.value.fault_list
    ds_watcher.version = current
    assert ds_watcher.wait(max_wait=0) is None


def test_initial_version_reports_everything_again(ds_watcher):
    first = ds_watcher.wait()
    ds_watcher.version = ''
    again = ds_watcher.wait()
    assert sorted(v for _, v, _ in again) == sorted(v for _, v, _ in first)


def test_destroyed_filter_reports_nothing(sim, session, ds_watcher):
    ds_watcher.wait()
    session.invoke_api(session.vim, 'DestroyPropertyFilter', ds_watcher.filter)
    sim.set_datastore('ds-04', free_gb=9)
    try:
        assert ds_watcher.wait(max_wait=1) is None
    finally:
        sim.set_datastore('ds-04', free_gb=53)


def test_cancel_wait_for_updates(session, ds_watcher):
    ds_watcher.wait()
    outcome = {}

    def waiter():
        try:
            outcome['result'] = ds_watcher.wait(max_wait=30)
        except exceptions.VimFaultException as e:
            outcome['faults'] = e.fault_list

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    session.invoke_api(session.vim, 'CancelWaitForUpdates', ds_watcher.pc)
    thread.join(10)
    assert not thread.is_alive()
    assert 'RequestCanceled' in outcome.get('faults', []), outcome


# --- WaitForUpdatesEx from the change journal ---------------------------

def test_change_reaches_every_collector_once(sim, session):
    watchers = [Watcher(session, 'Datastore', ['summary']) for _ in range(2)]
    try:
        for w in watchers:
            w.wait()
        sim.set_datastore('ds-03', free_gb=8)
        try:
            for w in watchers:
                [(kind, _, changes)] = w.wait()
                assert kind == 'modify'
                assert changes['summary'].name == 'ds-03'
                assert changes['summary'].freeSpace == 8 * GiB
                assert w.wait(max_wait=0) is None
        finally:
            sim.set_datastore('ds-03', free_gb=52)
        for w in watchers:
            [(_, _, changes)] = w.wait()
            assert changes['summary'].freeSpace == 52 * GiB
    finally:
        for w in watchers:
            w.destroy()


def test_mount_change_modifies_the_datastore_host_list(sim, session):
    w = Watcher(session, 'Datastore', ['name', 'host'])
    try:
        w.wait()
        sim.set_mount('ds-05', 'esx-10', access_mode='readOnly')
        try:
            [(kind, _, changes)] = w.wait()
            assert kind == 'modify' and list(changes) == ['host']
            names = {h.value: n
                     for n, h in by_name(session, 'HostSystem').items()}
            modes = {names[m.key.value]: m.mountInfo.accessMode
                     for m in changes['host'].DatastoreHostMount}
            assert modes == {
                'esx-01': 'readWrite', 'esx-02': 'readWrite',
                'esx-10': 'readOnly'}
        finally:
            sim.set_mount('ds-05', 'esx-10', access_mode='readWrite')
        [(kind, _, _)] = w.wait()
        assert kind == 'modify'
    finally:
        w.destroy()


def test_max_object_updates_pages_the_changes(sim, session, ds_watcher):
    ds_watcher.wait()
    changed = {'ds-01': 11, 'ds-02': 12, 'ds-04': 14}
    for name, free in changed.items():
        sim.set_datastore(name, free_gb=free)
    try:
        first = ds_watcher.wait(max_updates=2)
        assert len(first) == 2 and ds_watcher.truncated
        rest = ds_watcher.wait(max_updates=2)
        assert len(rest) == 1 and not ds_watcher.truncated
        seen = {c['summary'].name: c['summary'].freeSpace
                for _, _, c in first + rest}
        assert seen == {n: f * GiB for n, f in changed.items()}
        assert ds_watcher.wait(max_wait=0) is None
    finally:
        for i, name in enumerate(DATASTORES):
            if name in changed:
                sim.set_datastore(name, free_gb=50 + i)
    assert len(ds_watcher.wait()) == len(changed)


def test_vm_destroyed_leaves_the_view(session):
    w = Watcher(session, 'VirtualMachine', ['name'])
    try:
        first = w.wait()
        vm = {c['name']: v for _, v, c in first}['vm-d']
        task = session.invoke_api(session.vim, 'Destroy_Task',
                                  vim_util.get_moref(vm, 'VirtualMachine'))
        session.wait_for_task(task)
        assert w.wait() == [('leave', vm, {})]
        assert w.wait(max_wait=0) is None
    finally:
        w.destroy()


def test_host_added_to_a_cluster_enters_the_view(session):
    w = Watcher(session, 'HostSystem', ['name', 'runtime.inMaintenanceMode'])
    try:
        w.wait()
        vim = session.vim
        cluster = by_name(session, 'ClusterComputeResource')['gold']
        spec = vim.client.factory.create('ns0:HostConnectSpec')
        spec.hostName, spec.force = 'esx-30', True
        task = session.invoke_api(vim, 'AddHost_Task', cluster, spec=spec,
                                  asConnected=True)
        session.wait_for_task(task)
        [(kind, value, changes)] = w.wait()
        assert kind == 'enter' and changes['name'] == 'esx-30'
        assert by_name(session, 'HostSystem')['esx-30'].value == value
        assert w.wait(max_wait=0) is None
    finally:
        w.destroy()
