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
"""The simulator's "answer lost" fault modes, through oslo.vmware.

A call applied and its connection dropped before the answer (for *_Task
methods the task runs to completion first), its retry then refused with
``retry_fault`` as vCenter would refuse it, drops twice in a row, and a
drop that also ends the session (a vCenter restart).
"""

import os
import urllib.error

from oslo_service import loopingcall
from oslo_vmware import exceptions
from oslo_vmware import vim_util
import pytest

TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "gold", "hosts": [{"name": "esx-01"}]}],
    "datastores": [{
        "name": "nfs-01", "type": "NFS", "capacity_gb": 100, "free_gb": 80,
        "mounts": [{"host": "esx-01"}]}],
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


@pytest.fixture(scope='module')
def session(sim):
    return sim.session()


@pytest.fixture(autouse=True)
def clean_rules(sim):
    sim.admin('reset', {})
    yield
    sim.admin('reset', {})


def datacenter(session):
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'Datacenter', 10, ['name'])
    return result.objects[0].obj


def create_disk(session, ds_path):
    vim = session.vim
    spec = vim.client.factory.create('ns0:FileBackedVirtualDiskSpec')
    spec.diskType = 'thin'
    spec.adapterType = 'lsiLogic'
    spec.capacityKb = 1024
    return session.invoke_api(vim, 'CreateVirtualDisk_Task',
                              vim.service_content.virtualDiskManager,
                              name=ds_path, datacenter=datacenter(session),
                              spec=spec)


def delete_file(session, ds_path):
    vim = session.vim
    return session.invoke_api(vim, 'DeleteDatastoreFile_Task',
                              vim.service_content.fileManager,
                              name=ds_path, datacenter=datacenter(session))


def make_directory(session, ds_path):
    vim = session.vim
    session.invoke_api(vim, 'MakeDirectory', vim.service_content.fileManager,
                       name=ds_path, datacenter=datacenter(session),
                       createParentDirectories=True)


def recent_task(session, name):
    vim = session.vim
    tasks = session.invoke_api(vim_util, 'get_object_property', vim,
                               vim.service_content.taskManager, 'recentTask')
    for task in reversed(tasks.ManagedObjectReference):
        info = session.invoke_api(vim_util, 'get_object_property', vim,
                                  task, 'info')
        if info.descriptionId == name:
            return info
    raise AssertionError('no recent task %s' % name)


def only_rule(sim):
    [rule] = sim.faults()
    return rule


def test_applied_task_runs_to_completion_then_the_answer_is_lost(sim):
    session = sim.session(api_retry_count=0)
    sim.reset_stats()
    sim.inject_fault('CreateVirtualDisk_Task', applied=True,
                     drop_connection=True, count=1)
    with pytest.raises(exceptions.VimConnectionException):
        create_disk(session, '[nfs-01] lost-answer.vmdk')

    assert os.path.exists(sim.datastore_path('nfs-01', 'lost-answer.vmdk'))
    info = recent_task(session, 'VirtualDiskManager.createVirtualDisk')
    assert info.state == 'success'
    stats = sim.request_stats()['methods']['CreateVirtualDisk_Task']
    assert stats['calls'] == 1 and stats['dropped'] == 1
    assert stats['bytes'] == 0


def test_applied_then_retry_refused_through_the_task(sim, fast_retries,
                                                     session):
    session.wait_for_task(create_disk(session, '[nfs-01] doomed.vmdk'))
    rule = sim.inject_fault('DeleteDatastoreFile_Task', applied=True,
                            drop_connection=True, retry_fault='FileNotFound',
                            count=1, body_contains='doomed.vmdk')
    assert rule['retry_fault'] == 'FileNotFound'
    assert rule['retry_task'] is True
    sim.reset_stats()

    # oslo.vmware retries the dropped call; vCenter has deleted the file
    # already, so the retry's task fails with FileNotFound.
    task = delete_file(session, '[nfs-01] doomed.vmdk')
    with pytest.raises(exceptions.FileNotFoundException) as info:
        session.wait_for_task(task)
    assert 'retry of a call that was applied' in str(info.value)
    assert not os.path.exists(sim.datastore_path('nfs-01', 'doomed.vmdk'))
    assert not os.path.exists(sim.datastore_path('nfs-01',
                                                 'doomed-flat.vmdk'))
    stats = sim.request_stats()['methods']['DeleteDatastoreFile_Task']
    assert (stats['calls'], stats['dropped']) == (2, 1)
    rule = only_rule(sim)
    assert (rule['fired'], rule['retry_fired'], rule['active']) == (
        1, 1, False)
    assert rule['retries_pending'] == 0


def test_retry_refused_as_a_soap_fault(sim, fast_retries, session):
    session.wait_for_task(create_disk(session, '[nfs-01] twice.vmdk'))
    sim.inject_fault('CreateVirtualDisk_Task', applied=True,
                     drop_connection=True, retry_fault='FileAlreadyExists',
                     retry_task=False, message='[nfs-01] again.vmdk exists',
                     fields={'file': '[nfs-01] again.vmdk'}, count=1)
    with pytest.raises(exceptions.FileAlreadyExistsException) as info:
        create_disk(session, '[nfs-01] again.vmdk')
    assert '[nfs-01] again.vmdk exists' in str(info.value)
    assert os.path.exists(sim.datastore_path('nfs-01', 'again.vmdk'))


def test_plain_method_applied_then_retry_refused(sim, fast_retries, session):
    sim.inject_fault('MakeDirectory', applied=True, drop_connection=True,
                     retry_fault='FileAlreadyExists', count=1)
    with pytest.raises(exceptions.FileAlreadyExistsException):
        make_directory(session, '[nfs-01] made/deep')
    assert os.path.isdir(sim.datastore_path('nfs-01', 'made/deep'))
    # spent: the next call runs as usual
    make_directory(session, '[nfs-01] made/deeper')
    assert os.path.isdir(sim.datastore_path('nfs-01', 'made/deeper'))


def test_each_applied_drop_arms_one_refusal(sim, fast_retries):
    """Check that each applied drop arms one refusal.

    count 2: drop, refuse the retry, drop, refuse the retry; a call
    that is not the dropped one again (another body) is no retry: it
    runs and leaves the refusal armed.
    """
    session = sim.session(api_retry_count=0)
    sim.inject_fault('MakeDirectory', applied=True, drop_connection=True,
                     retry_fault='FileFault', count=2)
    for name in ('one', 'two'):
        with pytest.raises(exceptions.VimConnectionException):
            make_directory(session, '[nfs-01] armed/' + name)
        assert os.path.isdir(sim.datastore_path('nfs-01', 'armed/' + name))
        assert only_rule(sim)['retries_pending'] == 1
        with pytest.raises(exceptions.FileFaultException):
            make_directory(session, '[nfs-01] armed/' + name)
        assert not os.path.exists(sim.datastore_path('nfs-01',
                                                     'armed/other'))
    rule = only_rule(sim)
    assert (rule['fired'], rule['retry_fired'], rule['active']) == (
        2, 2, False)
    make_directory(session, '[nfs-01] armed/other')
    assert os.path.isdir(sim.datastore_path('nfs-01', 'armed/other'))
    sim.clear_faults()
    sim.inject_fault('MakeDirectory', applied=True, drop_connection=True,
                     retry_fault='FileFault', count=1)
    with pytest.raises(exceptions.VimConnectionException):
        make_directory(session, '[nfs-01] armed/three')
    make_directory(session, '[nfs-01] armed/unrelated')
    assert only_rule(sim)['retries_pending'] == 1
    with pytest.raises(exceptions.FileFaultException):
        make_directory(session, '[nfs-01] armed/three')


def test_dropped_twice_in_a_row(sim, fast_retries):
    sim.reset_stats()
    sim.inject_fault('CreateVirtualDisk_Task', drop_connection=True, count=2)
    once = sim.session(api_retry_count=1)
    with pytest.raises(exceptions.VimConnectionException):
        create_disk(once, '[nfs-01] dropped-twice.vmdk')
    assert not os.path.exists(sim.datastore_path('nfs-01',
                                                 'dropped-twice.vmdk'))

    sim.inject_fault('CreateVirtualDisk_Task', drop_connection=True, count=2)
    twice = sim.session(api_retry_count=2)
    twice.wait_for_task(create_disk(twice, '[nfs-01] dropped-twice.vmdk'))
    assert os.path.exists(sim.datastore_path('nfs-01', 'dropped-twice.vmdk'))
    stats = sim.request_stats()['methods']['CreateVirtualDisk_Task']
    assert (stats['calls'], stats['dropped']) == (5, 4)


def test_drop_that_ends_the_session(sim, fast_retries):
    """Check a drop that ends the session (a vCenter restart).

    A vCenter restart: the answer is lost and the session is gone; the
    client finds its session inactive, logs in again and retries; the retry
    meets the directory the first call made.
    """
    session = sim.session(api_retry_count=2)
    first_key = session._session_id
    sim.reset_stats()
    sim.inject_fault('MakeDirectory', applied=True, drop_connection=True,
                     end_session=True, count=1)
    with pytest.raises(exceptions.FileAlreadyExistsException):
        make_directory(session, '[nfs-01] restarted')
    assert os.path.isdir(sim.datastore_path('nfs-01', 'restarted'))
    assert session._session_id != first_key
    counts = sim.request_counts()
    assert counts['Login'] == 1 and counts['MakeDirectory'] == 2


@pytest.mark.parametrize('payload, field', [
    ({'method': 'MakeDirectory', 'drop_connection': True,
      'retry_fault': 'FileFault'}, 'retry_fault'),
    ({'method': '*', 'drop_connection': True, 'applied': True,
      'retry_fault': 'FileFault'}, 'method'),
    ({'method': 'MakeDirectory', 'drop_connection': True, 'applied': True,
      'retry_fault': 'NoSuchFault'}, 'retry_fault'),
    ({'method': 'MakeDirectory', 'drop_connection': True, 'applied': True,
      'retry_fault': 'FileFault', 'retry_task': True}, 'retry_task'),
    ({'method': 'MakeDirectory', 'drop_connection': True,
      'fields': {'file': 'x'}}, 'fields'),
])
def test_bad_retry_rules_name_the_field(sim, payload, field):
    with pytest.raises(urllib.error.HTTPError) as info:
        sim.admin('faults', payload)
    assert info.value.code == 400
    assert info.value.body['field'] == field, info.value.body
    assert sim.faults() == []
