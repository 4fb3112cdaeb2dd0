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
"""Service objects upstream Cinder relies on: ExtensionManager and
SearchIndex.FindAllByUuid, through oslo.vmware with TLS verified.
"""

from cinder.volume.drivers.vmware import vmdk as cinder_vmdk
from cinder.volume.drivers.vmware import volumeops as cinder_volumeops
from oslo_vmware import exceptions
from oslo_vmware import vim_util
import pytest


TOPOLOGY = {'datacenters': [
    {'name': 'DC1',
     'clusters': [{'name': 'gold', 'hosts': [{'name': 'esx-01'}]}],
     'datastores': [{'name': 'ds-01', 'mounts': [{'host': 'esx-01'}]}],
     'vms': [{'name': 'vm-a', 'host': 'esx-01'},
             {'name': 'vm-b', 'host': 'esx-01'}]},
    {'name': 'DC2',
     'standalone_hosts': [{'name': 'esx-20'}],
     'datastores': [{'name': 'ds-20', 'mounts': [{'host': 'esx-20'}]}],
     'vms': [{'name': 'vm-c', 'host': 'esx-20'}]},
]}


@pytest.fixture(scope='module')
def session(sim):
    return sim.session()


def by_name(session, type_):
    vim = session.vim
    result = session.invoke_api(vim_util, 'get_objects', vim, type_, 100)
    with vim_util.WithRetrieval(vim, result) as objects:
        return {o.propSet[0].val: o.obj for o in objects}


def prop(session, moref, name):
    return session.invoke_api(vim_util, 'get_object_property',
                              session.vim, moref, name)


def find_all(session, uuid, **kwargs):
    vim = session.vim
    return [r.value for r in session.invoke_api(
        vim, 'FindAllByUuid', vim.service_content.searchIndex,
        uuid=uuid, **kwargs) or []]


def test_extension_manager_register_find_unregister(session):
    vim = session.vim
    em = vim.service_content.extensionManager
    assert em is not None
    key = 'org.example.test'
    assert session.invoke_api(vim_util, 'find_extension', vim, key) is None
    session.invoke_api(vim_util, 'register_extension', vim, key, 'volume',
                       label='Test')
    ext = session.invoke_api(vim_util, 'find_extension', vim, key)
    assert ext.key == key
    assert ext.description.label == 'Test'
    assert [i.type for i in ext.managedEntityInfo] == ['volume']
    listed = prop(session, em, 'extensionList').Extension
    assert key in [e.key for e in listed]

    with pytest.raises(exceptions.VimFaultException) as err:
        session.invoke_api(vim_util, 'register_extension', vim, key, 'volume')
    assert 'InvalidArgument' in err.value.fault_list

    session.invoke_api(vim, 'UnregisterExtension', em, extensionKey=key)
    assert session.invoke_api(vim_util, 'find_extension', vim, key) is None
    with pytest.raises(exceptions.VimFaultException) as err:
        session.invoke_api(vim, 'UnregisterExtension', em, extensionKey=key)
    assert 'NotFound' in err.value.fault_list


def test_upstream_driver_registers_its_extension(session):
    # upstream do_setup's own code path, run twice (second: already there)
    driver_class = cinder_vmdk.VMwareVcVmdkDriver
    driver = driver_class.__new__(driver_class)
    driver._session = session
    driver._register_extension()
    driver._register_extension()
    ext = session.invoke_api(vim_util, 'find_extension', session.vim,
                             cinder_vmdk.EXTENSION_KEY)
    assert ext.key == 'org.openstack.storage'
    assert [i.type for i in ext.managedEntityInfo] == [
        cinder_vmdk.EXTENSION_TYPE]


def test_find_all_by_uuid(session):
    vms = by_name(session, 'VirtualMachine')
    a, c = vms['vm-a'], vms['vm-c']
    inst_a = prop(session, a, 'config.instanceUuid')
    bios_a = prop(session, a, 'config.uuid')
    assert inst_a != bios_a

    assert find_all(session, inst_a, vmSearch=True,
                    instanceUuid=True) == [a.value]
    assert find_all(session, bios_a, vmSearch=True,
                    instanceUuid=False) == [a.value]
    assert find_all(session, bios_a, vmSearch=True) == [a.value]
    # each kind of uuid only matches its own field
    assert find_all(session, inst_a, vmSearch=True, instanceUuid=False) == []
    assert find_all(session, 'no-such-uuid', vmSearch=True) == []

    dcs = by_name(session, 'Datacenter')
    inst_c = prop(session, c, 'config.instanceUuid')
    assert find_all(session, inst_c, vmSearch=True, instanceUuid=True,
                    datacenter=dcs['DC2']) == [c.value]
    assert find_all(session, inst_c, vmSearch=True, instanceUuid=True,
                    datacenter=dcs['DC1']) == []

    host = by_name(session, 'HostSystem')['esx-20']
    hw = prop(session, host, 'summary.hardware').uuid
    assert find_all(session, hw, vmSearch=False) == [host.value]


def test_upstream_get_backing_by_uuid(session):
    vms = by_name(session, 'VirtualMachine')
    ops = cinder_volumeops.VMwareVolumeOps(session, 10,
                                           'org.openstack.storage', 'volume')
    for name in ('vm-a', 'vm-b', 'vm-c'):
        uuid = prop(session, vms[name], 'config.instanceUuid')
        assert ops.get_backing_by_uuid(uuid).value == vms[name].value


def test_two_simulators_share_one_parsed_wsdl_each_answers_itself(
        sim, session, start_simulator):
    # tests/wsdl_cache.py: the test processes parse the simulators' WSDL
    # once; every call still goes to the client's own simulator.
    from tests import wsdl_cache
    other = start_simulator({'datacenters': [
        {'name': 'DC9', 'standalone_hosts': [{'name': 'esx-90'}],
         'datastores': [{'name': 'ds-90', 'mounts': [{'host': 'esx-90'}]}]}]})
    second = other.session()
    assert second.vim.client.wsdl is session.vim.client.wsdl
    assert wsdl_cache.shared(session.vim.client.wsdl.url) is \
        session.vim.client.wsdl
    assert sorted(by_name(session, 'Datastore')) == ['ds-01', 'ds-20']
    assert sorted(by_name(second, 'Datastore')) == ['ds-90']
    assert sorted(by_name(session, 'Datacenter')) == ['DC1', 'DC2']
    assert sorted(by_name(second, 'Datacenter')) == ['DC9']
    second.logout()
