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
"""Upstream's volume operations, made safe against lost answers.

oslo.vmware retries a call whose connection broke.  When vCenter ran the
call and only its answer was lost, the retry of a create makes a second
VM (or fails with DuplicateName) and the retry of a CreateSnapshot_Task a
second snapshot of the same name.  Here the creates look before they
retry: a backing VM is found by its name in its folder (and the volume id
in its extraConfig), a snapshot by name and description, and what an
earlier attempt made is adopted.

Upstream also caches inventory folders for the life of the service; a
folder deleted in vCenter (or a vCenter restarted with new references)
then failed every create.  A create into a folder that no longer exists
drops the cached folder, builds it again and runs once more.
"""

import types

from cinder.volume.drivers.vmware import volumeops
from oslo_log import log as logging
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import snapshots
from cinder_vmware_ext.vsphere import upstream

LOG = logging.getLogger(__name__)

VOLUME_ID_KEY = 'cinder.volume.id'


class _Adopted(object):
    """What an earlier attempt of a create made, found after a retry."""

    def __init__(self, ref):
        self.ref = ref


class VolumeOps(volumeops.VMwareVolumeOps):
    """``VMwareVolumeOps`` whose creates survive a lost answer."""

    def __init__(self, *args, **kwargs):
        super(VolumeOps, self).__init__(*args, **kwargs)
        # folder moref value -> (datacenter, path components), to rebuild
        # a cached folder that vanished.
        self._folder_paths = {}

    # -- the idempotent task ------------------------------------------------

    def _run_create(self, step, method, target, find, **kwargs):
        """Run the create task ``method`` on ``target``; returns its result.

        ``find()`` answers what an earlier attempt made (or None).  It is
        asked before each retry after a broken connection and after a
        DuplicateName, and what it finds is the result.
        """
        attempts = []

        def start():
            if attempts:
                # The connection broke: vCenter may have acted.
                found = find()
                if found is not None:
                    return _Adopted(found)
            attempts.append(method)
            return getattr(self._session.vim, method)(target, **kwargs)

        try:
            started = self._session.invoke_api(
                types.SimpleNamespace(start=start), 'start')
            if isinstance(started, _Adopted):
                LOG.warning('%(step)s: vCenter had done it before the '
                            'answer was lost; using %(ref)s.',
                            {'step': step, 'ref': started.ref})
                return started.ref
            info = self._session.wait_for_task(started)
            return getattr(info, 'result', None)  # none for ReconfigVM
        except vexc.DuplicateName as err:
            found = find()
            if found is None:
                raise faults.with_context(err, step)
            LOG.warning('%(step)s: vCenter has it already (made by an '
                        'attempt whose answer was lost); using %(ref)s.',
                        {'step': step, 'ref': found})
            return found
        except vexc.VMwareDriverException as err:
            raise faults.with_context(err, step)

    # -- backing VMs --------------------------------------------------------

    def _find_vm(self, folder, name, volume_id, exclude=None):
        """The VM ``name`` in ``folder`` made for ``volume_id``, or None."""
        ref = retrieve.find_child(self._session, folder, name)
        if ref is None or getattr(ref, '_type', None) != 'VirtualMachine':
            return None
        if exclude is not None and (vim_util.get_moref_value(ref) ==
                                    vim_util.get_moref_value(exclude)):
            return None
        if volume_id is not None:
            values = retrieve.extra_config(self._session, ref)
            if values.get(VOLUME_ID_KEY) != volume_id:
                return None
        return ref

    @staticmethod
    def _volume_id_of(config_spec):
        for option in getattr(config_spec, 'extraConfig', None) or []:
            if option.key == VOLUME_ID_KEY:
                return option.value
        return None

    def _create_backing_int(self, folder, resource_pool, host, create_spec):
        volume_id = self._volume_id_of(create_spec)

        def create(folder):
            return self._run_create(
                'Creating backing VM %s' % create_spec.name, 'CreateVM_Task',
                folder,
                lambda: self._find_vm(folder, create_spec.name, volume_id),
                config=create_spec, pool=resource_pool, host=host)

        backing = self._in_folder(folder, create)
        LOG.info("Successfully created volume backing: %s.", backing)
        return backing

    def clone_backing(self, name, backing, snapshot, clone_type, datastore,
                      disk_type=None, host=None, resource_pool=None,
                      extra_config=None, folder=None, disks_to_clone=None):
        if folder is None:
            folder = self._get_folder(backing)
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            disk_move_type = 'createNewChildDiskBacking'
        else:
            disk_move_type = 'moveAllDiskBackingsAndDisallowSharing'
        clone_spec = self._get_clone_spec(
            datastore, disk_move_type, snapshot, backing, disk_type,
            host=host, resource_pool=resource_pool,
            extra_config=dict(extra_config) if extra_config else None,
            disks_to_clone=disks_to_clone)
        volume_id = self._volume_id_of(clone_spec.config)

        def clone(folder):
            return self._run_create(
                'Cloning %s into backing VM %s' % (
                    vim_util.get_moref_value(backing), name),
                'CloneVM_Task', backing,
                lambda: self._find_vm(folder, name, volume_id,
                                      exclude=backing),
                folder=folder, name=name, spec=clone_spec)

        new_backing = self._in_folder(folder, clone)
        LOG.info("Successfully created clone: %s.", new_backing)
        return new_backing

    def delete_backing(self, backing):
        try:
            super(VolumeOps, self).delete_backing(backing)
        except vexc.VMwareDriverException as err:
            # A lost answer: the retry finds the VM gone.
            if self._exists(backing):
                raise faults.with_context(err, 'Deleting backing VM %s'
                                          % vim_util.get_moref_value(backing))
            LOG.warning('Deleting backing VM %(ref)s failed (%(err)s) but '
                        'vCenter deleted it.',
                        {'ref': vim_util.get_moref_value(backing),
                         'err': faults.describe(err)})

    def mark_backing_as_template(self, backing):
        self._mark(backing, True, lambda: super(
            VolumeOps, self).mark_backing_as_template(backing))

    def mark_as_virtual_machine(self, template, pool, host):
        """MarkAsVirtualMachine, safe after a lost answer."""
        self._mark(template, False, lambda: self._session.invoke_api(
            self._session.vim, 'MarkAsVirtualMachine', template, pool=pool,
            host=host))

    def _mark(self, vm, template, call):
        """Turn a VM into a template or back, once.

        ``call()`` turning ``vm`` into a template (or back); a failure
        is success when vCenter holds the VM in that state (the answer
        was lost and the retry refused).
        """
        what = 'a template' if template else 'a virtual machine'
        try:
            call()
        except vexc.VMwareDriverException as err:
            try:
                now = retrieve.one(self._session, vm, 'config.template')
            except vexc.VMwareDriverException:
                now = None
            if now is not template:
                raise faults.with_context(err, 'Marking %s as %s' % (
                    vim_util.get_moref_value(vm), what))
            LOG.warning('Marking %(vm)s as %(what)s failed (%(err)s) but '
                        'vCenter did it.',
                        {'vm': vim_util.get_moref_value(vm), 'what': what,
                         'err': faults.describe(err)})

    def get_dc(self, child):
        """Find the Datacenter above an entity in one round trip.

        The Datacenter above ``child``: one round trip up the parent
        chain (retrieve.datacenter_above) instead of upstream's read per
        level.
        """
        return retrieve.datacenter_above(self._session, child)

    def _exists(self, ref):
        """False only when vCenter says the object is gone."""
        try:
            retrieve.one(self._session, ref, 'name')
            return True
        except vexc.ManagedObjectNotFoundException:
            return False
        except vexc.VMwareDriverException:
            return True

    # -- folders ------------------------------------------------------------

    def create_vm_inventory_folder(self, datacenter, path_comp):
        folder = super(VolumeOps, self).create_vm_inventory_folder(
            datacenter, path_comp)
        if folder is not None:
            self._folder_paths[vim_util.get_moref_value(folder)] = (
                datacenter, list(path_comp))
        return folder

    def _in_folder(self, folder, create):
        """Create in a folder, rebuilding the folder when it is gone.

        ``create(folder)``; once more in a rebuilt folder when the
        cached folder is gone from vCenter.
        """
        try:
            return create(folder)
        except vexc.ManagedObjectNotFoundException:
            known = self._folder_paths.get(vim_util.get_moref_value(folder))
            if known is None or self._exists(folder):
                raise
        datacenter, path_comp = known
        LOG.warning('Inventory folder %(path)s (%(ref)s) is gone from '
                    'vCenter; creating it again.',
                    {'path': '/'.join(path_comp),
                     'ref': vim_util.get_moref_value(folder)})
        self.forget_folders(datacenter)
        return create(self.create_vm_inventory_folder(datacenter, path_comp))

    def forget_folders(self, datacenter):
        """Drop every cached folder of a datacenter.

        Drop every cached folder of ``datacenter`` (looked up again, or
        created, on next use).
        """
        prefix = '/' + vim_util.get_moref_value(datacenter)
        for path in list(self._folder_cache):
            if path == prefix or path.startswith(prefix + '/'):
                del self._folder_cache[path]
        for ref, (dc, _path) in list(self._folder_paths.items()):
            if vim_util.get_moref_value(dc) == prefix[1:]:
                del self._folder_paths[ref]

    # -- snapshots ----------------------------------------------------------

    def _find_snapshot(self, backing, name, description):
        return snapshots.find(
            self._session, backing,
            lambda node: node.name == name and (
                (getattr(node, 'description', None) or '') ==
                (description or '')))

    def create_snapshot(self, backing, name, description, quiesce=False):
        snapshot = self._run_create(
            'Creating snapshot %s of %s' % (
                name, vim_util.get_moref_value(backing)),
            'CreateSnapshot_Task', backing,
            lambda: self._find_snapshot(backing, name, description),
            name=name, description=description, memory=False,
            quiesce=quiesce)
        LOG.info("Successfully created snapshot: %(snap)s for volume "
                 "backing: %(backing)s.",
                 {'snap': snapshot, 'backing': backing})
        return snapshot

    def find_snapshot(self, backing, name, description):
        """The snapshot ``name`` with ``description`` of ``backing``."""
        return self._find_snapshot(backing, name, description)

    # -- reconfiguration that must not run twice ----------------------------

    def _reconfigure_backing(self, backing, reconfig_spec):
        """Reconfigure a backing, never repeating a disk change.

        Upstream's ReconfigVM_Task; one that attaches or removes disk
        files (attach, detach, swap) is not run again once applied: vCenter
        refuses the removal of a device that is gone, and attaching a file
        twice.
        """
        done = self._disk_change_applied(backing, reconfig_spec)
        if done is None:
            return upstream.reconfigure_backing(VolumeOps, self, backing,
                                                reconfig_spec)
        return self.reconfigure_once(
            backing, reconfig_spec, done,
            'Reconfiguring the disks of backing VM %s'
            % vim_util.get_moref_value(backing))

    def _disk_change_applied(self, backing, spec):
        """Check that a spec's disk changes are in place.

        A check that the spec's disk changes are in place, or None when
        the spec has none that can be checked (any other change is the
        same when made twice).
        """
        added, removed = set(), set()
        for change in getattr(spec, 'deviceChange', None) or []:
            device = change.device
            if device.__class__.__name__ != 'VirtualDisk':
                continue  # e.g. a controller added with the disk
            path = getattr(getattr(device, 'backing', None), 'fileName',
                           None)
            if change.operation == 'add' and path:
                added.add(path)
            elif change.operation == 'remove' and path:
                removed.add(path)
            else:
                return None
        if not added and not removed:
            return None

        def done():
            files = self.disk_files(backing)
            return added <= files and files.isdisjoint(removed)
        return done

    def update_backing_disk_uuid(self, backing, disk_uuid):
        """Set a backing's disk UUID, never twice.

        Upstream's disk UUID edit, not run again when the retry after
        a lost answer finds the UUID set (vCenter would refuse the
        repeated edit).
        """
        disk = self._get_disk_device(backing)
        disk.backing.uuid = disk_uuid
        cf = self._session.vim.client.factory
        disk_spec = cf.create('ns0:VirtualDeviceConfigSpec')
        disk_spec.device = disk
        disk_spec.operation = 'edit'
        spec = cf.create('ns0:VirtualMachineConfigSpec')
        spec.deviceChange = [disk_spec]

        def done():
            now = getattr(self._get_disk_device(backing).backing, 'uuid',
                          None) or ''
            return _plain_uuid(now) == _plain_uuid(disk_uuid)
        self.reconfigure_once(
            backing, spec, done, 'Setting the disk UUID of backing VM %s '
            'to %s' % (vim_util.get_moref_value(backing), disk_uuid))

    def disk_files(self, backing):
        """File names of the VM's disks (their top files)."""
        return {d.backing.fileName
                for d in devices.disks(self._session, backing)}

    def reconfigure_once(self, backing, spec, done, step):
        """Reconfigure a VM, never after it was applied.

        ReconfigVM_Task that is not run again when ``done()`` says
        vCenter applied it before its answer was lost.
        """
        return self._run_create(
            step, 'ReconfigVM_Task', backing,
            lambda: backing if done() else None, spec=spec)


def _plain_uuid(value):
    """Return a UUID without separators, in lower case.

    A UUID without separators, lower case (vCenter writes disk UUIDs
    as '60 00 c2 ...' or with dashes).
    """
    return ''.join(c for c in str(value).lower() if c in '0123456789abcdef')
