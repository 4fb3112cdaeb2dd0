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
"""The simulator's admin API, driven through oslo.vmware with TLS verified.

Fault injection (plain, task-level, dropped connections), latency, session
invalidation, request statistics and inventory changes made behind the
client's back.
"""

import os
import time
import urllib.error

from oslo_service import loopingcall
from oslo_vmware import exceptions
from oslo_vmware import vim_util
import pytest

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "gold", "hosts": [{"name": "esx-01"},
                                            {"name": "esx-02"}]}],
    "datastores": [{
        "name": "nfs-01", "type": "NFS", "capacity_gb": 100, "free_gb": 80,
        "mounts": [{"host": "esx-01"}, {"host": "esx-02"}]}],
}]}


@pytest.fixture
def fast_retries(monkeypatch):
    """oslo.vmware waits 10 s before retrying a call; make that 50 ms."""
    original = loopingcall.RetryDecorator

    class Fast(original):
        def __init__(self, max_retry_count=-1, inc_sleep_time=10,
                     max_sleep_time=60, exceptions=()):
            super().__init__(max_retry_count, 0.05, 0.1, exceptions)

    monkeypatch.setattr(loopingcall, 'RetryDecorator', Fast)


@pytest.fixture
def sim(start_simulator):
    return start_simulator(TOPOLOGY)


def root_name(session):
    vim = session.vim
    return session.invoke_api(vim_util, 'get_object_property', vim,
                              vim.service_content.rootFolder, 'name')


def find_object(session, kind, name):
    result = session.invoke_api(vim_util, 'get_objects', session.vim, kind,
                                100, ['name'])
    for obj in result.objects:
        if obj.propSet[0].val == name:
            return obj.obj
    raise AssertionError('no %s named %s' % (kind, name))


def get_property(session, moref, name):
    return session.invoke_api(vim_util, 'get_object_property', session.vim,
                              moref, name)


def admin_error(sim, path, payload, method=None):
    with pytest.raises(urllib.error.HTTPError) as info:
        sim.admin(path, payload, method=method)
    return info.value.code, info.value.body


def create_disk(session, datacenter, ds_path, size_kb=1024):
    vim = session.vim
    spec = vim.client.factory.create('ns0:FileBackedVirtualDiskSpec')
    spec.diskType = 'thin'
    spec.adapterType = 'lsiLogic'
    spec.capacityKb = size_kb
    return session.invoke_api(vim, 'CreateVirtualDisk_Task',
                              vim.service_content.virtualDiskManager,
                              name=ds_path, datacenter=datacenter, spec=spec)


def test_not_authenticated_once_recovers_transparently(sim, fast_retries):
    session = sim.session()
    first_key = session._session_id
    sim.reset_stats()
    rule = sim.inject_fault('RetrievePropertiesEx', 'NotAuthenticated',
                            count=1)
    assert rule['end_session'] is True

    assert root_name(session) == 'Datacenters'

    assert session._session_id != first_key          # logged in again
    stats = sim.request_stats()['methods']
    assert stats['RetrievePropertiesEx']['calls'] == 2  # the retry
    assert stats['RetrievePropertiesEx']['faults'] == 1
    assert stats['Login']['calls'] == 1
    [fault] = sim.faults()
    assert fault['fired'] == 1 and fault['active'] is False
    assert root_name(session) == 'Datacenters'       # spent: no more faults
    assert sim.request_stats()['methods']['Login']['calls'] == 1


def test_fault_translates_to_oslo_exception(sim):
    session = sim.session()
    dc = find_object(session, 'Datacenter', 'DC1')
    sim.inject_fault('CreateVirtualDisk_Task', 'NoDiskSpace',
                     message='no room left', fields={'datastore': 'nfs-01'})
    with pytest.raises(exceptions.NoDiskSpaceException) as info:
        create_disk(session, dc, '[nfs-01] plain.vmdk')
    assert 'no room left' in str(info.value)
    assert not os.path.exists(sim.datastore_path('nfs-01', 'plain.vmdk'))

    sim.clear_faults()
    sim.inject_fault('RetrievePropertiesEx', 'InvalidArgument', count=1,
                     fields={'invalidProperty': 'pathSet'})
    with pytest.raises(exceptions.VimFaultException) as info:
        root_name(session)
    assert info.value.fault_list == ['InvalidArgument']
    assert info.value.details.get('invalidProperty') == 'pathSet'


def test_task_fault_fails_the_task_without_effect(sim):
    session = sim.session()
    dc = find_object(session, 'Datacenter', 'DC1')
    sim.inject_fault('CreateVirtualDisk_Task', 'FileAlreadyExists',
                     task=True, count=1, message='already there')

    task = create_disk(session, dc, '[nfs-01] failed.vmdk')
    assert task._type == 'Task'
    with pytest.raises(exceptions.FileAlreadyExistsException) as info:
        session.wait_for_task(task)
    assert 'already there' in str(info.value)
    task_info = get_property(session, task, 'info')
    assert task_info.state == 'error'
    assert task_info.name == 'CreateVirtualDisk_Task'
    assert task_info.error.fault.__class__.__name__ == 'FileAlreadyExists'
    assert not os.path.exists(sim.datastore_path('nfs-01', 'failed.vmdk'))

    # The rule is spent: the same call now runs and has its effect.
    session.wait_for_task(create_disk(session, dc, '[nfs-01] failed.vmdk'))
    assert os.path.exists(sim.datastore_path('nfs-01', 'failed.vmdk'))
    assert sim.faults()[0]['fired'] == 1


def test_body_and_moref_matching(sim):
    session = sim.session()
    dc = find_object(session, 'Datacenter', 'DC1')
    sim.inject_fault('CreateVirtualDisk_Task', 'FileFault',
                     body_contains='volume-123')
    session.wait_for_task(create_disk(session, dc, '[nfs-01] other.vmdk'))
    with pytest.raises(exceptions.FileFaultException):
        create_disk(session, dc, '[nfs-01] volume-123.vmdk')
    assert not os.path.exists(sim.datastore_path('nfs-01',
                                                 'volume-123.vmdk'))

    sim.clear_faults()
    pc = session.vim.service_content.propertyCollector.value
    sim.inject_fault('RetrievePropertiesEx', 'SystemError', moref='nope-1')
    assert root_name(session) == 'Datacenters'
    sim.inject_fault('RetrievePropertiesEx', 'SystemError', moref=pc,
                     fields={'reason': 'disk on fire'})
    with pytest.raises(exceptions.VimFaultException) as info:
        root_name(session)
    assert info.value.fault_list == ['SystemError']
    assert [f['fired'] for f in sim.faults()] == [0, 1]


def test_skip_lets_calls_through_first(sim):
    session = sim.session()
    sim.inject_fault('RetrievePropertiesEx', 'InvalidState', skip=2, count=1)
    assert root_name(session) == 'Datacenters'
    assert root_name(session) == 'Datacenters'
    with pytest.raises(exceptions.VimFaultException) as info:
        root_name(session)
    assert info.value.fault_list == ['InvalidState']
    assert root_name(session) == 'Datacenters'


def test_drop_connection_is_a_connection_error(sim, fast_retries):
    session = sim.session(api_retry_count=0)
    sim.reset_stats()
    sim.inject_fault('RetrievePropertiesEx', drop_connection=True)
    with pytest.raises(exceptions.VimConnectionException):
        root_name(session)
    stats = sim.request_stats()['methods']['RetrievePropertiesEx']
    assert stats['dropped'] >= 1 and stats['bytes'] == 0

    # Dropped once: oslo.vmware retries on a new connection.
    sim.clear_faults()
    sim.inject_fault('RetrievePropertiesEx', drop_connection=True, count=1)
    retrying = sim.session(api_retry_count=2)
    assert root_name(retrying) == 'Datacenters'
    assert sim.faults()[0]['fired'] == 1


def test_latency_is_added(sim):
    session = sim.session()
    root_name(session)
    start = time.monotonic()
    root_name(session)
    baseline = time.monotonic() - start
    sim.add_latency(400, method='RetrievePropertiesEx', count=1)
    sim.reset_stats()
    start = time.monotonic()
    root_name(session)
    delayed = time.monotonic() - start
    start = time.monotonic()
    root_name(session)
    after = time.monotonic() - start
    assert delayed >= 0.4 > baseline
    assert after < 0.4
    served = sim.request_stats()['methods']['RetrievePropertiesEx']
    assert served['calls'] == 2 and 0.4 <= served['seconds'] < delayed + after
    [rule] = sim.admin('latency')['latency']
    assert rule['fired'] == 1 and rule['active'] is False


def test_invalidate_sessions_makes_clients_log_in_again(sim, fast_retries):
    one, two = sim.session(), sim.session()
    keys = {one._session_id, two._session_id}
    assert {s['key'] for s in sim.admin('sessions')['sessions']} == keys
    sim.reset_stats()

    assert sim.invalidate_sessions() == 2
    assert sim.admin('sessions')['sessions'] == []
    assert root_name(one) == 'Datacenters'
    assert root_name(two) == 'Datacenters'

    stats = sim.request_stats()['methods']
    assert stats['Login']['calls'] == 2
    assert stats['RetrievePropertiesEx']['faults'] == 2
    new_keys = {s['key'] for s in sim.admin('sessions')['sessions']}
    assert new_keys == {one._session_id, two._session_id}
    assert not new_keys & keys


def test_request_counts_and_reset(sim):
    session = sim.session()
    before = sim.request_stats(reset=True)
    assert before['methods']['Login']['calls'] == 1
    root_name(session)
    stats = sim.request_stats()
    assert stats['calls'] == 1
    assert sim.request_counts() == {'RetrievePropertiesEx': 1}
    assert stats['methods']['RetrievePropertiesEx']['bytes'] > 0
    assert stats['bytes'] == stats['methods']['RetrievePropertiesEx']['bytes']


@pytest.mark.parametrize('payload, field', [
    ({'method': 'RetrievePropertiesEx', 'fault': 'NoSuchFault'}, 'fault'),
    ({'method': 'RetrievePropertiesEx', 'fault': 'Datastore'}, 'fault'),
    ({'method': 'NoSuchMethod', 'fault': 'SystemError'}, 'method'),
    ({'method': 'RetrievePropertiesEx'}, 'fault'),
    ({'method': 'RetrievePropertiesEx', 'fault': 'SystemError',
      'task': True}, 'task'),
    ({'method': 'RetrievePropertiesEx', 'fault': 'SystemError',
      'count': 0}, 'count'),
    ({'method': 'RetrievePropertiesEx', 'fault': 'SystemError',
      'count': 'x'}, 'count'),
    ({'method': 'RetrievePropertiesEx', 'fault': 'SystemError',
      'colour': 'red'}, 'colour'),
    ({'method': 'RetrievePropertiesEx', 'fault': 'SystemError',
      'fields': {'reason': 5}}, 'fields'),
])
def test_bad_fault_requests_name_the_field(sim, payload, field):
    code, body = admin_error(sim, 'faults', payload)
    assert code == 400
    assert body['field'] == field, body
    assert sim.faults() == []


def test_datastore_changes_are_visible(sim):
    session = sim.session()
    ds = find_object(session, 'Datastore', 'nfs-01')
    view = sim.set_datastore('nfs-01', free_gb=12.5, capacity_gb=50,
                             uncommitted_gb=3, accessible=False,
                             maintenance_mode='inMaintenance')
    assert view['free_gb'] == 12.5
    summary = get_property(session, ds, 'summary')
    assert summary.freeSpace == int(12.5 * 2 ** 30)
    assert summary.capacity == 50 * 2 ** 30
    assert summary.uncommitted == 3 * 2 ** 30
    assert summary.accessible is False
    assert summary.maintenanceMode == 'inMaintenance'
    assert get_property(session, ds, 'info').freeSpace == int(12.5 * 2 ** 30)

    code, body = admin_error(sim, 'datastores/nfs-01', {'free_gb': -1})
    assert (code, body['field']) == (400, 'free_gb')
    code, body = admin_error(sim, 'datastores/nope', {'free_gb': 1})
    assert code == 404
    code, body = admin_error(sim, 'datastores/nfs-01',
                             {'maintenance_mode': 'off'})
    assert body['field'] == 'maintenance_mode'


def test_datastore_change_reaches_wait_for_updates(sim):
    session = sim.session()
    vim = session.vim
    ds = find_object(session, 'Datastore', 'nfs-01')
    factory = vim.client.factory
    prop_spec = factory.create('ns0:PropertySpec')
    prop_spec.type = 'Datastore'
    prop_spec.pathSet = ['summary.freeSpace']
    obj_spec = factory.create('ns0:ObjectSpec')
    obj_spec.obj = ds
    filter_spec = factory.create('ns0:PropertyFilterSpec')
    filter_spec.propSet = [prop_spec]
    filter_spec.objectSet = [obj_spec]
    pc = vim.service_content.propertyCollector
    session.invoke_api(vim, 'CreateFilter', pc, spec=filter_spec,
                       partialUpdates=False)
    options = factory.create('ns0:WaitOptions')
    options.maxWaitSeconds = 5
    initial = session.invoke_api(vim, 'WaitForUpdatesEx', pc, version='',
                                 options=options)

    sim.set_datastore('nfs-01', free_gb=7)
    update = session.invoke_api(vim, 'WaitForUpdatesEx', pc,
                                version=initial.version, options=options)
    changes = [c for fs in update.filterSet for o in fs.objectSet
               for c in o.changeSet]
    assert [(c.name, c.val) for c in changes] == [
        ('summary.freeSpace', 7 * 2 ** 30)]


def test_host_and_mount_changes_are_visible(sim):
    session = sim.session()
    host = find_object(session, 'HostSystem', 'esx-02')
    view = sim.set_host('esx-02', connection_state='notResponding',
                        maintenance=True)
    assert view == {'name': 'esx-02', 'moref': host.value,
                    'connection_state': 'notResponding', 'maintenance': True}
    runtime = get_property(session, host, 'runtime')
    assert runtime.connectionState == 'notResponding'
    assert runtime.inMaintenanceMode is True
    assert get_property(session, host,
                        'summary.runtime.connectionState') == 'notResponding'

    ds = find_object(session, 'Datastore', 'nfs-01')
    sim.set_mount('nfs-01', 'esx-02', accessible=False, mounted=False,
                  access_mode='readOnly')
    mounts = {m.key.value: m.mountInfo
              for m in get_property(session, ds, 'host').DatastoreHostMount}
    assert mounts[host.value].accessible is False
    assert mounts[host.value].mounted is False
    assert mounts[host.value].accessMode == 'readOnly'
    other = [k for k in mounts if k != host.value]
    assert [mounts[k].accessible for k in other] == [True]

    code, body = admin_error(sim, 'hosts/esx-02', {'connection_state': 'up'})
    assert (code, body['field']) == (400, 'connection_state')
    code, body = admin_error(sim, 'datastores/nfs-01/mounts/esx-02',
                             {'access_mode': 'rw'})
    assert (code, body['field']) == (400, 'access_mode')
