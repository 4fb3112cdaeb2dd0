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
"""Which VMs read which disk files: one PropertyCollector pass.

A linked clone's chain reaches into its parent's files, so deleting,
consolidating or moving a disk must first know who else reads it.  Only
VMs with files on the same datastores can: their list is read for all
datastores at once (``Datastore.vm``), then every such VM's disks at once
(``config.hardware.device``): two round trips whatever the number of
datastores or files asked about.
"""

from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks
from cinder_vmware_ext.vsphere import retrieve


class Readers(object):
    """The disk chains of the VMs near a VM (other than itself)."""

    def __init__(self, chains):
        # {vm moref value: (vm name, {file: datastore moref value})}
        self._chains = chains

    def of(self, files):
        """Sorted names of the VMs whose chains use any of ``files``."""
        files = set(files)
        return sorted(name for name, chain in self._chains.values()
                      if files.intersection(chain))

    def shared(self, chain):
        """Return the files of a chain that any of the VMs read too.

        {file: datastore} of ``chain`` ({file: datastore}) that any of
        the VMs read too.
        """
        used = set()
        for _name, other in self._chains.values():
            used.update(other)
        return {f: ds for f, ds in chain.items() if f in used}


def datastores_of(session, vm):
    """The Datastore morefs a VM uses."""
    return retrieve.refs(session, vm, 'datastore')


def readers(session, datastores, exclude):
    """Return the readers of the files on given datastores.

    ``Readers`` over every VM (but ``exclude``) with files on
    ``datastores`` (morefs).
    """
    vms = {}
    for _value, (_ref, found) in retrieve.of_objects(
            session, 'Datastore', datastores, ['vm']).items():
        for vm in retrieve.items(found.get('vm'), 'ManagedObjectReference'):
            vms[vim_util.get_moref_value(vm)] = vm
    vms.pop(vim_util.get_moref_value(exclude), None)
    chains = {}
    for value, (_ref, found) in retrieve.of_objects(
            session, 'VirtualMachine', vms.values(),
            ['name', 'config.hardware.device']).items():
        vm_disks = [d for d in retrieve.items(
            found.get('config.hardware.device'), 'VirtualDevice')
            if devices.is_disk(d)]
        chains[value] = (found.get('name'),
                         disks.chain_datastores(vm_disks))
    return Readers(chains)
