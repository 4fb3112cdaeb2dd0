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
"""vCenter's side of the e2e steps, read through oslo.vmware: where a
volume's backing lives and how big its disk is."""

from oslo_vmware import vim_util


def _collect(session, obj_type, props):
    """{moref value: {prop: value}} for every object of a type."""
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                obj_type, 1000, props)
    found = {}
    while result:
        for obj in result.objects:
            found[vim_util.get_moref_value(obj.obj)] = {
                p.name: p.val for p in getattr(obj, 'propSet', [])}
        token = getattr(result, 'token', None)
        if not token:
            break
        result = session.invoke_api(vim_util, 'continue_retrieval',
                                    session.vim, result)
    return found


def vm_names(session):
    return {p['name'] for p in _collect(session, 'VirtualMachine',
                                        ['name']).values()}


def backing(session, volume):
    """Describe the backing VM of a Cinder volume, or None.

    The backing VM of a Cinder volume (upstream names it after the
    volume: ``volume-<id>``) as a dict: datastores, cluster, disks in KiB;
    None when vCenter has none.
    """
    name = 'volume-%s' % volume.id
    vms = _collect(session, 'VirtualMachine',
                   ['name', 'datastore', 'runtime.host',
                    'config.hardware.device'])
    matches = [p for p in vms.values() if p.get('name') == name]
    if not matches:
        return None
    props = matches[0]
    datastores = _collect(session, 'Datastore', ['name'])
    hosts = _collect(session, 'HostSystem', ['parent'])
    clusters = _collect(session, 'ClusterComputeResource', ['name'])
    host = vim_util.get_moref_value(props['runtime.host'])
    parent = vim_util.get_moref_value(hosts[host]['parent'])
    devices = props['config.hardware.device'].VirtualDevice
    return {
        'datastores': [datastores[vim_util.get_moref_value(ref)]['name']
                       for ref in props['datastore'].ManagedObjectReference],
        'cluster': clusters.get(parent, {}).get('name'),
        'disks_kb': [d.capacityInKB for d in devices
                     if d.__class__.__name__ == 'VirtualDisk'],
        'disk_files': [d.backing.fileName for d in devices
                       if d.__class__.__name__ == 'VirtualDisk'],
        # A linked clone's disk is a delta over its source's disk.
        'linked': any(getattr(d.backing, 'parent', None) is not None
                      for d in devices
                      if d.__class__.__name__ == 'VirtualDisk'),
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
