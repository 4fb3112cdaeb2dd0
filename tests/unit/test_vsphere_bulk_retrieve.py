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
"""bulk_soap.to_data: a VM's properties read as suds read them (XML in).

The takeover's discovery reads these objects as it read suds's; the
simulator tests (test_takeover_*) check the same against vcsim.
"""

from lxml import etree
from oslo_vmware import vim_util

from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.vsphere import bulk_soap

NS = ('xmlns="urn:vim25" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
      'xmlns:xsd="http://www.w3.org/2001/XMLSchema"')

DEVICES = '''<val %s xsi:type="ArrayOfVirtualDevice">
 <VirtualDevice xsi:type="ParaVirtualSCSIController">
  <key>1000</key><busNumber>0</busNumber><sharedBus>physicalSharing</sharedBus>
 </VirtualDevice>
 <VirtualDevice xsi:type="VirtualDisk">
  <key>2000</key><controllerKey>1000</controllerKey><unitNumber>1</unitNumber>
  <backing xsi:type="VirtualDiskFlatVer2BackingInfo">
   <fileName>[ds-a] vm/vm_1.vmdk</fileName>
   <datastore type="Datastore">datastore-7</datastore>
   <thinProvisioned>true</thinProvisioned><uuid>6000C29a-1</uuid>
   <parent><fileName>[ds-a] vm/vm.vmdk</fileName>
    <thinProvisioned>false</thinProvisioned></parent>
  </backing>
  <capacityInKB>1048576</capacityInKB>
 </VirtualDevice>
</val>''' % NS

EXTRA = '''<val %s xsi:type="ArrayOfOptionValue">
 <OptionValue xsi:type="OptionValue"><key>cinder.volume.id</key>
  <value xsi:type="xsd:string">vol-1</value></OptionValue>
 <OptionValue xsi:type="OptionValue"><key>123</key>
  <value xsi:type="xsd:int">7</value></OptionValue>
</val>''' % NS

SNAPSHOT = '''<val %s xsi:type="VirtualMachineSnapshotInfo">
 <rootSnapshotList><name>one</name>
  <childSnapshotList><name>two</name></childSnapshotList>
 </rootSnapshotList>
</val>''' % NS


def _data(text):
    return bulk_soap.to_data(etree.fromstring(text.encode()))


def test_devices_keep_their_types_numbers_and_truth_values():
    controller, disk = _data(DEVICES)
    assert controller.__class__.__name__ == 'ParaVirtualSCSIController'
    assert disk.__class__.__name__ == 'VirtualDisk'
    assert (disk.key, disk.controllerKey, disk.unitNumber,
            disk.capacityInKB) == (2000, 1000, 1, 1048576)
    assert disk.backing.thinProvisioned is True
    assert disk.backing.parent.thinProvisioned is False
    assert vim_util.get_moref_value(disk.backing.datastore) == 'datastore-7'
    assert disk.backing.datastore._type == 'Datastore'


def test_option_keys_stay_text_and_typed_values_convert():
    options = _data(EXTRA)
    assert [(o.key, o.value) for o in options] == [
        ('cinder.volume.id', 'vol-1'), ('123', 7)]
    assert discovery.extra_config({'config.extraConfig': options}) == {
        'cinder.volume.id': 'vol-1', '123': 7}


def test_snapshot_lists_are_lists_even_with_one_entry():
    assert discovery._snapshot_names(_data(SNAPSHOT)) == ('one', 'two')


def test_discovery_reads_a_vm_as_from_suds():
    ref = vim_util.get_moref('vm-1', 'VirtualMachine')
    objects = {'vm-1': (ref, {
        'name': 'vm', 'config.hardware.device': _data(DEVICES),
        'config.extraConfig': _data(EXTRA),
        'config.template': _data(
            '<val %s xsi:type="xsd:boolean">false</val>' % NS),
        'snapshot': _data(SNAPSHOT)})}
    disk, = discovery.vm_disks(objects)
    assert (disk.file_name, disk.datastore_ref, disk.capacity_bytes,
            disk.thin, disk.sharing, disk.parents) == (
        '[ds-a] vm/vm_1.vmdk', 'datastore-7', 1024 ** 3, True, 'sharedBus',
        ('[ds-a] vm/vm.vmdk',))
    assert disk.vm.template is False
    assert disk.vm.cinder_volume_id == 'vol-1'
    assert disk.vm.snapshots == ('one', 'two')
    assert (disk.vm.device_key, disk.vm.controller_key,
            disk.vm.unit_number) == (2000, 1000, 1)
