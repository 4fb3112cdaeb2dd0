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
"""Every call of upstream Cinder's private VMware helpers, in one place.

The driver reuses a few private members of upstream's ``VMwareVolumeOps``
and ``DatastoreSelector`` (cinder 29).  They are called only through the
functions below, so a Cinder upgrade that renames or changes one is fixed
here, once.
"""

from cinder.volume.drivers.vmware import volumeops as vops


def disk_device(volumeops, vm):
    """The VM's (first) VirtualDisk device (``_get_disk_device``)."""
    return volumeops._get_disk_device(vm)


def disk_backing(volumeops, disk_type, path):
    """Make a disk backing info of an extra-spec disk type.

    A new disk backing info on ``path`` of an extra-spec disk type
    ('thin', 'thick', 'eagerZeroedThick'; ``_create_disk_backing``).
    """
    return volumeops._create_disk_backing(
        vops.VirtualDiskType.get_virtual_disk_type(disk_type), path)


def host_properties(ds_sel, host):
    """{property: value} of a HostSystem (``_get_host_properties``)."""
    return ds_sel._get_host_properties(host)


def resource_pool(ds_sel, compute_resource):
    """Return the root resource pool of a compute resource.

    The root resource pool of a compute resource
    (``_get_resource_pool``).
    """
    return ds_sel._get_resource_pool(compute_resource)


def host_resource_pool(ds_sel, host):
    """The root resource pool of the compute resource holding ``host``."""
    return resource_pool(ds_sel, host_properties(ds_sel, host)['parent'])


def filter_by_profile(ds_sel, datastores, profile_id):
    """Filter datastores by a storage profile.

    The datastores of ``datastores`` ({moref: summary}) compliant with
    a storage profile (``_filter_by_profile``).
    """
    return ds_sel._filter_by_profile(datastores, profile_id)


def reconfigure_backing(volumeops_class, volumeops, backing, spec):
    """Call upstream's own ``_reconfigure_backing``.

    Upstream's own ``_reconfigure_backing`` of ``volumeops`` (past the
    override in ``volumeops_class``).
    """
    return super(volumeops_class, volumeops)._reconfigure_backing(
        backing, spec)
