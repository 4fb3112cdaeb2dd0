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
"""vCenter's side of the e2e steps: where a volume's backing lives and how
big its disk is, read through the functional tests' inventory reader
(``driver_fixtures.Inventory``) on the e2e tests' own session."""

from oslo_vmware import vim_util

from tests.functional import driver_fixtures as df


def objects(session, obj_type, props):
    """{moref value: {prop: value, '_ref': its moref}} of a type's objects."""
    return df.Inventory(session=session).objects(obj_type, *props)


def vm_names(session):
    return set(df.Inventory(session=session).vm_names())


def backing(session, volume):
    """Describe the backing VM of a Cinder volume, or None.

    The backing VM of a Cinder volume (upstream names it after the
    volume: ``volume-<id>``) as a dict: datastores, cluster, disks in KiB;
    None when vCenter has none.
    """
    name = 'volume-%s' % volume.id
    inventory = df.Inventory(session=session)
    vms = inventory.objects('VirtualMachine', 'name', 'datastore',
                            'runtime.host', 'config.hardware.device')
    matches = [p for p in vms.values() if p.get('name') == name]
    if not matches:
        return None
    props = matches[0]
    datastores = inventory.objects('Datastore', 'name')
    hosts = inventory.objects('HostSystem', 'parent')
    clusters = inventory.objects('ClusterComputeResource', 'name')
    host = vim_util.get_moref_value(props['runtime.host'])
    parent = vim_util.get_moref_value(hosts[host]['parent'])
    disks = [d for d in df.array(props['config.hardware.device'],
                                 'VirtualDevice')
             if d.__class__.__name__ == 'VirtualDisk']
    return {
        'datastores': [datastores[vim_util.get_moref_value(ref)]['name']
                       for ref in df.array(props['datastore'],
                                           'ManagedObjectReference')],
        'cluster': clusters.get(parent, {}).get('name'),
        'disks_kb': [d.capacityInKB for d in disks],
        'disk_files': [d.backing.fileName for d in disks],
        # A linked clone's disk is a delta over its source's disk.
        'linked': any(getattr(d.backing, 'parent', None) is not None
                      for d in disks),
    }


def flat_file_bytes(simulator, ds_path):
    """Return the size of a descriptor's data file on disk.

    Size of the data file behind a ``[datastore] dir/name.vmdk``
    descriptor, on the simulator's disk.
    """
    import os
    datastore, path = ds_path[1:].split('] ', 1)
    flat = path[:-len('.vmdk')] + '-flat.vmdk'
    return os.path.getsize(simulator.datastore_path(datastore, flat))
