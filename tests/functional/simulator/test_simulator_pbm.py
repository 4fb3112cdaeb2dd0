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
"""The simulator's storage policy (PBM) endpoint, through oslo.vmware.

oslo.vmware's own PBM client (its shipped pbmService.wsdl for the
simulator's vCenter version, HTTPS with the certificate verified, the vim25
session in the vcSessionCookie header) lists the topology's profiles next to
vCenter's defaults and asks which datastores comply, as upstream Cinder's
datastore selector does. Results are checked against the topology.
"""

import json
import subprocess

from cinder.volume.drivers.vmware import datastore as hub
from cinder.volume.drivers.vmware import exceptions as vmdk_exceptions
from cinder.volume.drivers.vmware import vmdk
from cinder.volume.drivers.vmware import volumeops
from oslo_vmware import exceptions as vexc
from oslo_vmware import pbm
from oslo_vmware import vim_util
import pytest

from tests.functional import driver_fixtures
from tests.functional.simulator.test_simulator_topology import (  # noqa: F401
    vcsim_binary)

TOPOLOGY = {
    'datacenters': [
        {'name': 'DC1',
         'clusters': [{'name': 'c1', 'hosts': [{'name': 'esx-01'}]}],
         'datastores': [
             {'name': 'vmfs-gold-01', 'mounts': [{'host': 'esx-01'}]},
             {'name': 'vmfs-gold-02', 'mounts': [{'host': 'esx-01'}]},
             {'name': 'vmfs-plain', 'mounts': [{'host': 'esx-01'}]},
             {'name': 'shared-name', 'type': 'NFS',
              'mounts': [{'host': 'esx-01'}]},
             {'name': 'vsan-01', 'type': 'vsan',
              'mounts': [{'host': 'esx-01'}]}],
         'vms': [
             {'name': 'on-gold', 'host': 'esx-01',
              'disks': [{'datastore': 'vmfs-gold-01'},
                        {'datastore': 'vmfs-gold-02'}]},
             {'name': 'mixed', 'host': 'esx-01',
              'disks': [{'datastore': 'vmfs-gold-01'},
                        {'datastore': 'vmfs-plain'}]}],
         'storage_profiles': [
             {'name': 'gold-policy', 'description': 'fast disks',
              'datastores': ['vmfs-gold-01', 'vmfs-gold-02']},
             {'name': 'empty-policy'}]},
        {'name': 'DC2',
         'standalone_hosts': [{'name': 'esx-20'}],
         'datastores': [
             {'name': 'shared-name', 'type': 'NFS',
              'mounts': [{'host': 'esx-20'}]},
             {'name': 'dc2-only', 'mounts': [{'host': 'esx-20'}]}]},
    ],
    'storage_profiles': [
        {'name': 'nfs-policy',
         'datastores': ['DC1/shared-name', 'DC2/shared-name', 'dc2-only']}],
}

# Datastore (datacenter, name) that comply with each topology profile.
COMPLIANT = {
    'gold-policy': {('DC1', 'vmfs-gold-01'), ('DC1', 'vmfs-gold-02')},
    'empty-policy': set(),
    'nfs-policy': {('DC1', 'shared-name'), ('DC2', 'shared-name'),
                   ('DC2', 'dc2-only')},
}
DEFAULTS = ['vSAN Default Storage Policy', 'VVol No Requirements Policy',
            'VM Encryption Policy', 'Host-local PMem Default Storage Policy']


@pytest.fixture(scope='module')
def session(sim):
    s = sim.pbm_session()
    yield s
    s.logout()


def _datacenter_of(session, ref):
    """Name of the datacenter above a managed entity."""
    while ref._type != 'Datacenter':
        ref = session.invoke_api(vim_util, 'get_object_property',
                                 session.vim, ref, 'parent')
    return session.invoke_api(vim_util, 'get_object_property', session.vim,
                              ref, 'name')


@pytest.fixture(scope='module')
def datastores(session):
    """{moref value: (datacenter, name)} for every datastore."""
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'Datastore', 100, ['name', 'parent'])
    found = {}
    for obj in result.objects:
        props = {p.name: p.val for p in obj.propSet}
        found[obj.obj.value] = (_datacenter_of(session, props['parent']),
                                props['name'])
    assert len(found) == 7
    return found


def _ref(datastores, dc, name):
    for value, where in datastores.items():
        if where == (dc, name):
            return vim_util.get_moref(value, 'Datastore')
    raise AssertionError('no datastore %s/%s' % (dc, name))


def _matching(session, datastores, profile_name, refs=None):
    profile_id = pbm.get_profile_id_by_name(session, profile_name)
    assert profile_id is not None, profile_name
    hubs = None
    if refs is not None:
        hubs = pbm.convert_datastores_to_hubs(session.pbm.client.factory,
                                              refs)
    found = pbm.filter_hubs_by_profile(session, hubs, profile_id) or []
    assert all(h.hubType == 'Datastore' for h in found)
    return [datastores[h.hubId] for h in found]


def test_profiles_are_listed_with_vcenter_defaults(session):
    profiles = pbm.get_all_profiles(session)
    names = [p.name for p in profiles]
    assert sorted(names) == sorted(DEFAULTS + list(COMPLIANT))
    gold = [p for p in profiles if p.name == 'gold-policy'][0]
    assert gold.description == 'fast disks'
    assert gold.profileCategory == 'REQUIREMENT'
    assert gold.resourceType.resourceType == 'STORAGE'
    # A tag-based rule, as policies made for Cinder usually are.
    capability = gold.constraints.subProfiles[0].capability[0]
    assert capability.id.namespace == 'http://www.vmware.com/storage/tag'


def test_profile_ids_resolve_to_their_profiles(session):
    ids = {p.name: p.profileId.uniqueId for p in pbm.get_all_profiles(session)}
    assert len(set(ids.values())) == len(ids)
    pid = pbm.get_profile_id_by_name(session, 'nfs-policy')
    assert pid.uniqueId == ids['nfs-policy']
    [profile] = pbm.get_profiles_by_ids(session, [pid])
    assert profile.name == 'nfs-policy'
    assert pbm.get_profile_id_by_name(session, 'no-such-policy') is None


@pytest.mark.parametrize('name', sorted(COMPLIANT))
def test_matching_hubs_over_the_whole_inventory(session, datastores, name):
    # Upstream's stats path asks with no hubs at all.
    assert set(_matching(session, datastores, name)) == COMPLIANT[name]


def test_matching_hubs_keep_the_order_and_subset_asked(session, datastores):
    asked = [_ref(datastores, *k) for k in [
        ('DC1', 'vmfs-plain'), ('DC1', 'vmfs-gold-02'), ('DC2', 'dc2-only'),
        ('DC1', 'vmfs-gold-01')]]
    assert _matching(session, datastores, 'gold-policy', asked) == [
        ('DC1', 'vmfs-gold-02'), ('DC1', 'vmfs-gold-01')]
    assert _matching(session, datastores, 'nfs-policy', asked) == [
        ('DC2', 'dc2-only')]


def test_default_profiles_match_by_datastore_type(session, datastores):
    assert _matching(session, datastores, 'vSAN Default Storage Policy') == [
        ('DC1', 'vsan-01')]
    assert _matching(session, datastores,
                     'VVol No Requirements Policy') == []
    assert len(_matching(session, datastores, 'VM Encryption Policy')) == 7


def test_unknown_profile_id_is_a_fault(session):
    fake = session.pbm.client.factory.create('ns0:PbmProfileId')
    fake.uniqueId = '00000000-0000-0000-0000-000000000000'
    with pytest.raises(vexc.VimFaultException) as err:
        pbm.filter_hubs_by_profile(session, None, fake)
    assert 'InvalidArgument' in err.value.fault_list
    with pytest.raises(vexc.VimFaultException):
        pbm.get_profiles_by_ids(session, [fake])


def start_coordination(state_dir):
    """Start Cinder's lock coordinator.

    Cinder's lock coordinator, as cinder-volume starts it (upstream's
    profile lookups are synchronized through it).
    """
    from cinder import coordination
    from oslo_config import cfg
    driver_fixtures.init_cinder(state_dir)
    cfg.CONF.set_override('backend_url', 'file://' + state_dir,
                          group='coordination')
    coordination.COORDINATOR.start()


def _vm(session, name):
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'VirtualMachine', 100, ['name'])
    for obj in result.objects:
        if obj.propSet[0].val == name:
            return obj.obj
    raise AssertionError('no VM %s' % name)


def _compliance(session, entities, profile_name):
    cf = session.pbm.client.factory
    refs = []
    for kind, key in entities:
        ref = cf.create('ns0:PbmServerObjectRef')
        ref.objectType, ref.key = kind, key
        refs.append(ref)
    result = session.invoke_api(
        session.pbm, 'PbmCheckCompliance',
        session.pbm.service_content.complianceManager, entities=refs,
        profile=pbm.get_profile_id_by_name(session, profile_name))
    return [(r.entity.key, r.complianceStatus) for r in result]


def test_compliance_of_vms_and_disks(session):
    on_gold = _vm(session, 'on-gold').value
    mixed = _vm(session, 'mixed').value
    assert _compliance(session, [
        ('virtualMachine', on_gold), ('virtualMachine', mixed),
        ('virtualDiskId', mixed + ':2000'), ('virtualDiskId', mixed + ':2001'),
        ('virtualMachine', 'vm-nope')], 'gold-policy') == [
        (on_gold, 'compliant'), (mixed, 'nonCompliant'),
        (mixed + ':2000', 'compliant'), (mixed + ':2001', 'nonCompliant'),
        ('vm-nope', 'unknown')]


def test_pbm_needs_the_vcenter_session(sim, session):
    # A PBM client that never sends the vim25 session cookie is refused.
    lone = pbm.Pbm(protocol='https', host=sim.host, port=sim.port,
                   wsdl_url=session.pbm.client.wsdl.url, cacert=sim.ca_file,
                   insecure=False)
    res_type = lone.client.factory.create('ns0:PbmProfileResourceType')
    res_type.resourceType = 'STORAGE'
    with pytest.raises(vexc.VimException) as err:
        lone.PbmQueryProfile(lone.service_content.profileManager,
                             resourceType=res_type)
    assert 'NotAuthenticated' in str(err.value) or \
        'NotAuthenticated' in getattr(err.value, 'fault_list', [])


def test_upstream_datastore_selector_uses_the_profiles(session, datastores,
                                                       tmp_path):
    start_coordination(str(tmp_path))
    ops = volumeops.VMwareVolumeOps(session, 100, vmdk.EXTENSION_KEY,
                                    vmdk.EXTENSION_TYPE)
    selector = hub.DatastoreSelector(ops, session, 100)
    gold1 = _ref(datastores, 'DC1', 'vmfs-gold-01')
    plain = _ref(datastores, 'DC1', 'vmfs-plain')
    assert selector.is_datastore_compliant(gold1, 'gold-policy')
    assert not selector.is_datastore_compliant(plain, 'gold-policy')
    assert selector.is_datastore_compliant(plain, None)
    with pytest.raises(vmdk_exceptions.ProfileNotFoundException):
        selector.get_profile_id('no-such-policy')


def test_compliance_follows_a_renamed_datastore(session, datastores):
    ref = _ref(datastores, 'DC1', 'vmfs-gold-02')
    session.invoke_api(session.vim, 'RenameDatastore', ref,
                       newName='vmfs-gold-02-renamed')
    try:
        found = _matching(session, datastores, 'gold-policy')
        assert ('DC1', 'vmfs-gold-02') in found  # same moref, same tag
    finally:
        session.invoke_api(session.vim, 'RenameDatastore', ref,
                           newName='vmfs-gold-02')


BAD = [
    ({'datacenters': [{'name': 'D', 'datastores': [{'name': 'a'}],
                       'storage_profiles': [{'name': 'p',
                                             'datastores': ['b']}]}]},
     'datacenter "D" storage profile "p": unknown datastore "b"'),
    ({'datacenters': [{'name': 'D', 'datastores': [{'name': 'a'}],
                       'storage_profiles': [{'name': 'p'}]}],
      'storage_profiles': [{'name': 'p'}]},
     'storage_profiles[0]: duplicate storage profile name "p"'),
    ({'datacenters': [{'name': 'D', 'storage_profiles': [{}]}]},
     'storage profile without a name'),
    ({'datacenters': [{'name': 'D', 'datastores': [{'name': 'a'}]},
                      {'name': 'E', 'datastores': [{'name': 'a'}]}],
      'storage_profiles': [{'name': 'p', 'datastores': ['a']}]},
     'storage profile "p": datastore "a" is ambiguous (in datacenters D, E)'),
    ({'datacenters': [{'name': 'D', 'datastores': [{'name': 'a'}]}],
      'storage_profiles': [{'name': 'p', 'datastores': ['E/a']}]},
     'storage profile "p": unknown datastore "E/a"'),
    ({'datacenters': [], 'storage_profiles': [{'name': 'p', 'rule': 'x'}]},
     'unknown field "rule"'),
]


@pytest.mark.parametrize('topology,message', BAD, ids=[m for _, m in BAD])
def test_invalid_profiles_are_refused(tmp_path, vcsim_binary,  # noqa: F811
                                      topology, message):
    path = tmp_path / 'topology.json'
    path.write_text(json.dumps(topology))
    out = subprocess.run([vcsim_binary, '-topology', str(path),
                          '-datastore-root', str(tmp_path / 'ds')],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert message in out.stderr
