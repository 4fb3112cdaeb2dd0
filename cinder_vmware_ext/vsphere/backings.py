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
"""Backing VMs: their names (one paged retrieval), their destruction."""

from oslo_log import log as logging
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve

LOG = logging.getLogger(__name__)


def names(session):
    """Every VirtualMachine's name (backings are named after volumes)."""
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'VirtualMachine', 1000, ['name'])
    found = set()
    with vim_util.WithRetrieval(session.vim, result) as objects:
        for obj in objects:
            for prop in getattr(obj, 'propSet', None) or []:
                found.add(prop.val)
    return found


def named(session, wanted, paths):
    """Read properties of the VMs whose names ``wanted`` accepts.

    {name: (moref, {property: value})} of every VirtualMachine for whose
    name ``wanted(name)`` is true, with the properties ``paths``: one pass
    over the names, one over the chosen VMs, however many there are.
    """
    result = session.invoke_api(vim_util, 'get_objects', session.vim,
                                'VirtualMachine', 1000, ['name'])
    chosen = {}
    with vim_util.WithRetrieval(session.vim, result) as objects:
        for obj in objects:
            for prop in getattr(obj, 'propSet', None) or []:
                if wanted(prop.val):
                    chosen[vim_util.get_moref_value(obj.obj)] = prop.val
    found = retrieve.of_objects(
        session, 'VirtualMachine',
        [vim_util.get_moref(value, 'VirtualMachine') for value in chosen],
        paths)
    return {chosen[value]: facts for value, facts in found.items()
            if value in chosen}


def destroy(session, vm):
    """Destroy a VM, checking after an error whether it is gone.

    Destroy_Task of a VM (vSphere deletes its attached disks and its
    home folder with it).  After an error the VM is looked up: gone means
    vCenter destroyed it and the answer was lost (done); still there, the
    destroy is tried once more, then its error raised with the VM named.
    """
    for attempt in (1, 2):
        try:
            task = session.invoke_api(session.vim, 'Destroy_Task', vm)
            session.wait_for_task(task)
            return
        except vexc.VMwareDriverException as err:
            if not _exists(session, vm):
                LOG.warning('Destroying VM %(vm)s answered %(err)s, but '
                            'vCenter has destroyed it.',
                            {'vm': vim_util.get_moref_value(vm),
                             'err': faults.describe(err)})
                return
            if attempt == 2:
                raise faults.with_context(
                    err, 'Destroying VM %s' % vim_util.get_moref_value(vm))
            LOG.warning('Destroying VM %(vm)s failed (%(err)s); trying once '
                        'more.', {'vm': vim_util.get_moref_value(vm),
                                  'err': faults.describe(err)})


def _exists(session, ref):
    """False only when vCenter says the object is gone."""
    try:
        retrieve.one(session, ref, 'name')
        return True
    except vexc.ManagedObjectNotFoundException:
        return False
    except vexc.VMwareDriverException:
        return True
