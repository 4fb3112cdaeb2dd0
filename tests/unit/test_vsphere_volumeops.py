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
"""Error messages of the client layer's creates (pure, no simulator)."""

from oslo_vmware import exceptions as vexc
import pytest

from cinder_vmware_ext.vsphere import volumeops


@pytest.mark.parametrize('err, described', [
    # govmomi and some vCenters send only the fault's Go or vim type.
    (vexc.VimFaultException(['InvalidDeviceSpec'],
                            '*types.InvalidDeviceSpec'), 'InvalidDeviceSpec'),
    (vexc.VimFaultException(['InvalidDeviceSpec'], ''), 'InvalidDeviceSpec'),
    (vexc.VimFaultException(['SystemError'], 'disk busy'),
     'SystemError: disk busy'),
    # Classes oslo.vmware translates faults to carry no fault_list.
    (vexc.DuplicateName('*types.DuplicateName'), 'DuplicateName'),
    (vexc.NoDiskSpaceException('no room on ds-1'),
     'NoDiskSpace: no room on ds-1'),
    (vexc.VimConnectionException('connection reset'),
     'VimConnectionException: connection reset'),
])
def test_describe(err, described):
    assert volumeops.describe(err) == described


@pytest.mark.parametrize('err', [
    vexc.VimFaultException(['InvalidDeviceSpec'], '*types.X',
                           details={'a': 'b'}),
    vexc.DuplicateName('*types.DuplicateName'),
    vexc.ManagedObjectNotFoundException('gone'),
    vexc.VimConnectionException('reset'),
])
def test_with_context_keeps_the_class_and_names_the_step(err):
    new = volumeops.with_context(err, 'Creating backing VM volume-1')
    assert type(new) is type(err)
    assert new.msg.startswith('Creating backing VM volume-1 failed: '
                              'vCenter fault ')
    assert getattr(new, 'fault_list', None) == getattr(err, 'fault_list',
                                                       None)
    assert new.details == err.details
