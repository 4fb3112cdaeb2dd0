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
import pytest

from cinder_vmware_ext.takeover import records
from cinder_vmware_ext.takeover import safety

GiB = records.GiB


def disk(**kw):
    base = dict(datastore='ds', path='a/b.vmdk', capacity_bytes=GiB,
                thin=True)
    base.update(kw)
    return records.DiskRecord(**base)


def vm(**kw):
    base = dict(ref='vm-1', name='legacy', power_state='poweredOff')
    base.update(kw)
    return records.AttachedVm(**base)


@pytest.mark.parametrize('record, reason', [
    (disk(is_descriptor=False), safety.NOT_A_DISK),
    (disk(cinder_id='vol-1'), safety.ALREADY_MANAGED),
    (disk(in_pools=False), safety.OUTSIDE_POOLS),
    (disk(is_delta=True), safety.DELTA_DISK),
    (disk(path='vm/vm-000002.vmdk'), safety.DELTA_DISK),
    (disk(parents=('[ds] vm/vm.vmdk',)), safety.DELTA_DISK),
    (disk(in_snapshot_chain=True), safety.IN_SNAPSHOT_CHAIN),
    (disk(vm=vm(snapshots=('s1',))), safety.IN_SNAPSHOT_CHAIN),
    (disk(sharing='sharingMultiWriter'), safety.SHARED),
    (disk(other_vms=('vm-2',)), safety.SHARED),
    (disk(vm=vm(power_state='poweredOn')), safety.POWERED_ON),
    (disk(vm=vm(template=True)), safety.TEMPLATE),
])
def test_each_reason(record, reason):
    assert safety.verdict(record) == (False, reason)
    assert reason in safety.all_reasons(record)


def test_safe_disks():
    assert safety.verdict(disk()) == (True, None)
    assert safety.verdict(disk(vm=vm())) == (True, None)


def test_first_reason_wins_all_listed():
    record = disk(in_pools=False, vm=vm(power_state='poweredOn'))
    assert safety.verdict(record)[1] == safety.OUTSIDE_POOLS
    assert safety.all_reasons(record) == [safety.OUTSIDE_POOLS,
                                          safety.POWERED_ON]


def test_manageable_entry_contract():
    record = disk(capacity_bytes=int(1.5 * GiB), pool='gold', uuid='u1',
                  vm=vm(power_state='poweredOn', snapshots=()))
    entry = safety.manageable_entry(record)
    assert entry['reference'] == {'source-id': 'u1'}
    assert entry['size'] == 2
    assert entry['safe_to_manage'] is False
    assert entry['reason_not_safe'] == safety.POWERED_ON
    assert entry['cinder_id'] is None
    info = entry['extra_info']
    assert info['datastore'] == 'ds' and info['pool'] == 'gold'
    assert info['vm'] == 'legacy' and info['vm_power_state'] == 'poweredOn'
    assert info['provisioning'] == 'thin'
    assert info['capacity_bytes'] == str(int(1.5 * GiB))
    # What Cinder's ManageableVolume takes: strings or None only.
    assert all(v is None or isinstance(v, str) for v in info.values())


def test_loose_entry_names_path():
    assert safety.manageable_entry(disk())['reference'] == {
        'source-name': '[ds] a/b.vmdk'}


@pytest.mark.parametrize('size, gb', [(1, 1), (GiB, 1), (GiB + 1, 2),
                                      (0, 0)])
def test_size_rounds_up(size, gb):
    assert disk(capacity_bytes=size).size_gb == gb


def test_untrusted_descriptor_reason():
    record = disk(untrusted='its extent "../x" is not a plain file name '
                            'beside it')
    assert safety.verdict(record) == (
        False, '%s (its extent "../x" is not a plain file name beside it)'
        % safety.UNTRUSTED)
    assert safety.all_reasons(record) == [safety.verdict(record)[1]]


def _found(path, *extents, datastore='ds'):
    from cinder_vmware_ext.takeover import discovery
    return discovery.FoundFile(datastore, path, True, GiB, True, False,
                               tuple(extents))


@pytest.mark.parametrize('extent, why', [
    ('a-flat.vmdk', None),
    ('[ds] f/a-flat.vmdk', None),          # vCenter's datastore-path form
    ('../../../../etc/hostname', 'is not a plain file name'),
    ('sub/a-flat.vmdk', 'is not a plain file name'),
    ('/etc/hostname', 'is not a plain file name'),
    ('..', 'is not a plain file name'),
    ('[other] f/a-flat.vmdk', 'is not beside it'),
    ('[ds] g/a-flat.vmdk', 'is not beside it'),
    ('b.vmdk', 'is a disk descriptor'),
])
def test_untrusted_extents(extent, why):
    from cinder_vmware_ext.takeover import discovery
    found = discovery.untrusted_descriptors(
        [_found('f/a.vmdk', extent), _found('f/b.vmdk', 'b-flat.vmdk')])
    if why is None:
        assert found == {}
    else:
        assert why in found['[ds] f/a.vmdk'], found
        assert '[ds] f/b.vmdk' not in found


def test_data_file_named_by_two_descriptors():
    from cinder_vmware_ext.takeover import discovery
    found = discovery.untrusted_descriptors([
        _found('f/a.vmdk', 'a-flat.vmdk'), _found('f/b.vmdk', 'a-flat.vmdk'),
        _found('g/a.vmdk', 'a-flat.vmdk')])     # another folder's file
    assert found == {
        '[ds] f/a.vmdk': 'its data file [ds] f/a-flat.vmdk is also named by '
                         '[ds] f/b.vmdk',
        '[ds] f/b.vmdk': 'its data file [ds] f/a-flat.vmdk is also named by '
                         '[ds] f/a.vmdk'}
