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
"""Managing and unmanaging existing disks, safely and reversibly.

A managed disk looks to upstream's driver like any backing: a "shadow" VM
named after the volume, in the volumes folder, with extraConfig
``cinder.volume.id`` and the backing UUID, holding the one disk.  The disk
itself is never rewritten, resized or overwritten: the shadow VM is
created without a disk and the existing file is attached to it where it
lies.  A disk attached to a (powered-off, snapshot-free) VM is detached
first, its slot remembered; a disk on a datastore the volume's pool cannot
reach is copied there, checked, and only then removed from its source.

Every step that changes vCenter registers its undo before the next step
runs; any failure runs the undos in reverse, so vCenter is left as it was.
Where the disk came from is kept in the shadow VM's extraConfig
(``ORIGIN_KEY``) for unmanage.
"""

import json
import time

from cinder import exception
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_vmware import vim_util

from cinder_vmware_ext.takeover import adopt
from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.takeover import locks
from cinder_vmware_ext.takeover import records
from cinder_vmware_ext.takeover import references
from cinder_vmware_ext.takeover import safety
from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import search

LOG = logging.getLogger(__name__)

ORIGIN_KEY = adopt.ORIGIN_KEY
DISK_BYTES_KEY = adopt.DISK_BYTES_KEY


class Undo(object):
    """Undo actions, run newest first; each failure is logged, not raised."""

    def __init__(self):
        self._steps = []
        self.failed = []

    def push(self, description, action):
        self._steps.append((description, action))

    def run(self):
        while self._steps:
            description, action = self._steps.pop()
            try:
                action()
            except Exception as err:
                LOG.error('Rollback step "%s" failed: %s', description, err)
                self.failed.append('%s: %s' % (description, err))


def invalid(existing_ref, reason):
    return exception.ManageExistingInvalidReference(
        existing_ref=existing_ref, reason=reason)


class Takeover(object):
    """The driver side of the takeover, bound to one driver instance."""

    def __init__(self, driver):
        self._driver = driver
        self._port = driver.takeover_port()

    @property
    def _session(self):
        return self._driver.session

    # -- discovery ----------------------------------------------------------

    def scope(self):
        inventory, pools = self._port.pools.current()
        return discovery.scope_of(inventory, pools, self._driver.host)

    def _objects(self):
        # Every VM, folder, datacenter and datastore, as of now: the
        # changes since the last manage, not a whole pass (listing.py).
        return self._driver.takeover_listing().objects()

    def discover(self):
        return discovery.discover(self._session, self.scope())

    def manageable_volumes(self, marker, limit, offset, sort_keys,
                           sort_dirs):
        # References are unique (a marker names one entry) and the order
        # before Cinder's sort is fixed, so ties in a sort key (sizes) do
        # not move entries between pages.
        # The listing is reused across pages and quick calls (listing.py);
        # each page gets its own copies of the entries.
        entries = self._driver.takeover_listing().derive(
            self.scope(), 'entries', lambda disks: sorted(
                safety.manageable_entries(disks), key=_stable_order))
        return [_entry_copy(e) for e in volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs)]

    # -- resolving a reference --------------------------------------------

    def resolve(self, existing_ref):
        """The DiskRecord an existing_ref names.

        Raises ManageExistingInvalidReference when it names none.
        """
        try:
            ref = references.parse(existing_ref)
        except references.InvalidReference as err:
            raise invalid(existing_ref, str(err))
        scope = self.scope()
        if ref.kind == references.UUID:
            found = self._find_by_uuid(scope, ref.uuid)
        else:
            found = self._find_by_path(scope, ref, existing_ref)
        if found is None:
            raise invalid(existing_ref, self._not_found(ref))
        return found

    @staticmethod
    def _not_found(ref):
        if ref.kind == references.UUID:
            return ('no disk with UUID %s on the datastores of this '
                    "backend's pools." % ref.uuid)
        if ref.kind == references.ATTACHED:
            return ('VM %s has no disk %s (or no such VM); check the VM '
                    'inventory path (Datacenter/vm/folder/name) and the '
                    'disk path.' % (ref.vm_path, ref.disk_path))
        return '%s does not exist.' % ref.disk_path

    def _find_by_path(self, scope, ref, existing_ref):
        names = {ds.name: r for r, ds in scope.reachable.items()}
        path = ref.disk_path
        if path.datastore not in names:
            raise invalid(existing_ref, 'datastore %s is not reachable from '
                          "this backend's pools; manage it on a backend "
                          'whose clusters mount it.' % path.datastore)
        objects = self._objects()
        all_disks = discovery.vm_disks(objects)
        # Every VM using the file, so a shared disk is judged shared
        # whichever of its VMs the reference names.
        disks = [d for d in all_disks if d.file_name == str(path)]
        if ref.kind == references.ATTACHED and not any(
                _on_vm(d.vm, ref.vm_path) for d in disks):
            self._refuse_snapshot_disk(all_disks, ref, existing_ref)
            return None
        # The whole folder: a descriptor is judged with its neighbours
        # (an extent another descriptor names too).
        files = self._folder_files(objects, names[path.datastore], path)
        found = [d for d in discovery.merge(scope, disks, files)
                 if d.ds_path == str(path) and (
                     ref.kind != references.ATTACHED or
                     _on_vm(d.vm, ref.vm_path))]
        return found[0] if found else None

    def _folder_files(self, objects, datastore_ref, path):
        browser = objects[datastore_ref][1]['browser']
        return discovery.found_files(search.search_folder(
            self._session, browser, path.datastore, path.folder, None))

    @staticmethod
    def _refuse_snapshot_disk(vm_disks, ref, existing_ref):
        """A VM's snapshot disk is no longer its device, a delta on it is."""
        for disk in vm_disks:
            if (str(ref.disk_path) in disk.parents and
                    disk.vm.inventory_path.strip('/') == ref.vm_path):
                raise invalid(existing_ref, '%s is part of a snapshot chain '
                              'of VM %s (its current disk is %s); remove '
                              'the VM\'s snapshots first.'
                              % (ref.disk_path, ref.vm_path, disk.file_name))

    def _find_by_uuid(self, scope, uuid):
        objects = self._objects()
        disks = [d for d in discovery.vm_disks(objects)
                 if d.uuid and references.normalize_uuid(d.uuid) == uuid]
        if disks:
            # Every VM using the file, so a shared disk is judged shared.
            names = {ds.name: r for r, ds in scope.reachable.items()}
            files = []
            for path in sorted({d.file_name for d in disks}):
                try:
                    parsed = references.parse_datastore_path(path)
                except references.InvalidReference:
                    continue
                if parsed.datastore in names:
                    files += self._folder_files(
                        objects, names[parsed.datastore], parsed)
            used = {d.file_name for d in disks}
            found = [d for d in discovery.merge(scope, disks, files)
                     if d.ds_path in used]
            paths = sorted({d.ds_path for d in found})
            if len(paths) > 1:
                raise invalid({'source-id': uuid}, (
                    'UUID %s names %d disks (%s): copies and clones keep '
                    'their source\'s UUID; name the disk as "<vmdk path>@'
                    '<vm inventory path>".' % (uuid, len(paths),
                                               ', '.join(paths))))
            return found[0] if found else None
        # A loose file: vSphere's searches do not return UUIDs, so ask for
        # each candidate's (only when a UUID reference needs it).
        for disk in self.discover().disks:
            if disk.vm is None and disk.is_descriptor and \
                    self._uuid_of(disk) == uuid:
                return disk
        return None

    def _uuid_of(self, disk):
        try:
            return references.normalize_uuid(vdisks.uuid(
                self._session, self._dc_of(disk.datastore_ref),
                disk.ds_path))
        except Exception:
            return None

    def _dc_of(self, datastore_ref):
        return self._driver.volumeops.get_dc(
            vim_util.get_moref(datastore_ref, 'Datastore'))

    def checked(self, existing_ref):
        """The referenced disk if it is safe to manage; else say why."""
        disk = self.resolve(existing_ref)
        safe, reason = safety.verdict(disk)
        if not safe:
            detail = (' (volume %s)' % disk.cinder_id) if disk.cinder_id \
                else ''
            raise invalid(existing_ref, '%s is %s%s.' % (disk.ds_path,
                                                         reason, detail))
        return disk

    def size_gb(self, existing_ref):
        started = time.monotonic()
        size = self.checked(existing_ref).size_gb
        LOG.debug('Takeover size check of %s: %d GiB in %.3f s.',
                  existing_ref, size, time.monotonic() - started)
        return size

    # -- manage -------------------------------------------------------------

    def manage(self, volume, existing_ref):
        """Adopt the referenced disk as ``volume``; all or nothing.

        One manage of a disk at a time, across services: the disk's lock
        is held from the check to the end, and the check runs again under
        it (another service may have just taken the disk).

        :returns: the volume's model update: None, or its ``host`` and
            ``cluster_name`` when the disk stays in another pool (see
            ``_pool_for``)
        """
        started = time.monotonic()
        disk = self.resolve(existing_ref)
        try:
            with locks.disk_lock(self._session, disk):
                locked = time.monotonic()
                disk = self.checked(existing_ref)
                pool_name, update = self._pool_for(volume, disk)
                self._manage(volume, existing_ref, disk, pool_name)
        finally:
            # The disk left its place (or a rollback put it back).
            self._driver.takeover_listing().touched([disk.datastore])
        LOG.debug('Takeover manage of volume %s: %.3f s, %.3f s of it '
                  'before the disk\'s lock was held.', volume['id'],
                  time.monotonic() - started, locked - started)
        return update

    def _pool_for(self, volume, disk):
        """The pool the volume goes in, and the model update saying so.

        The volume's pool, except in a Cinder cluster: there Cinder's manage
        API keeps only the cluster of the host the operator named, not its
        pool (``cinder/volume/api.py`` sets ``cluster_name`` without it),
        and the scheduler then picks any pool of the cluster.  A disk
        already on a datastore of one of this backend's pools stays in that
        pool rather than being copied to the scheduler's pick.
        """
        pool_name = volume_utils.extract_host(volume['host'], 'pool')
        if not volume.get('cluster_name'):
            return pool_name, None
        _inventory, pools = self._port.pools.current()
        holding = [p.name for p in sorted(pools, key=lambda p: p.name)
                   if disk.datastore_ref in {ds.ref for ds in p.datastores}]
        if not holding or pool_name in holding:
            return pool_name, None
        LOG.info('Volume %(id)s: %(disk)s is in pool %(pool)s of this '
                 'backend, not in %(chosen)s (the pool Cinder chose for a '
                 'clustered service); it stays where it is, in %(pool)s.',
                 {'id': volume['id'], 'disk': disk.ds_path,
                  'pool': holding[0], 'chosen': pool_name})
        return holding[0], {
            'host': volume_utils.append_host(
                volume_utils.extract_host(volume['host']), holding[0]),
            'cluster_name': volume_utils.append_host(
                volume_utils.extract_host(volume['cluster_name']),
                holding[0])}

    def _manage(self, volume, existing_ref, disk, pool_name):
        undo = Undo()
        progress = ['choose where the shadow VM goes']
        target = adopt.target_for(self._port, volume, disk, pool_name)
        try:
            self._adopt(volume, existing_ref, disk, target, undo, progress)
        except exception.ManageExistingInvalidReference:
            undo.run()
            raise
        except Exception as err:
            LOG.error('Managing %s as volume %s failed while trying to %s: '
                      '%s; rolling back.', disk.ds_path, volume['id'],
                      progress[-1], err)
            undo.run()
            raise exception.VolumeBackendAPIException(
                data=self._failure(disk, progress[-1], err, undo.failed))
        finally:
            target.release()
        LOG.info('Volume %s now manages %s (taken from %s).', volume['id'],
                 target.copy_to or disk.ds_path,
                 disk.vm.name if disk.vm else 'no VM')

    @staticmethod
    def _failure(disk, step, err, rollback_failures):
        if rollback_failures:
            return ('Managing %s failed while trying to %s (%s), and the '
                    'rollback did not finish: %s. Fix these by hand.'
                    % (disk.ds_path, step, err, '; '.join(rollback_failures)))
        return ('Managing %s failed while trying to %s (%s); the disk was '
                'left as it was. Fix the cause and manage it again.'
                % (disk.ds_path, step, err))

    def _adopt(self, volume, existing_ref, disk, target, undo, progress):
        session = self._session
        progress.append('create the shadow VM %s' % volume['name'])
        backing = adopt.create_shadow(self._port, volume, target, disk)
        undo.push('destroy the shadow VM',
                  lambda: adopt.destroy_shadow(session, backing))
        progress.append('check that no other volume holds %s' % disk.ds_path)
        self._refuse_if_held(existing_ref, disk, backing)
        if disk.vm is not None:
            self._take_off_vm(disk, undo, progress)
        file_name = disk.ds_path
        if target.copy_to:
            progress.append('read the files of %s' % disk.ds_path)
            source = self._source_files(disk)
            progress.append('copy the disk to %s' % target.copy_to)
            undo.push('delete the copy %s' % target.copy_to,
                      lambda: self._delete_copy(disk, source, target))
            adopt.copy_and_verify(session, target.dc, disk.ds_path,
                                  target.copy_to, target.datastore.ref,
                                  disk.capacity_bytes)
            file_name = target.copy_to
        progress.append('attach %s to the shadow VM' % file_name)
        # Registered first: an attach whose answer is lost did attach.
        undo.push('detach the disk from the shadow VM',
                  lambda: adopt.detach(session, backing, file_name,
                                       missing_ok=True))
        adopt.attach_to_shadow(self._port, volume, backing, file_name,
                               disk)
        if target.copy_to:
            # Last, and only once everything else holds.
            progress.append('remove the source %s' % disk.ds_path)
            self._remove_source(disk, source)
        return backing

    def _refuse_if_held(self, existing_ref, disk, backing):
        """Refuse a manage of a disk another Cinder backing holds.

        Another Cinder backing holding the disk (or being made from it)
        makes this manage a second volume of one disk: refuse.
        """
        ours = vim_util.get_moref_value(backing)
        objects = self._objects()
        for value, (_ref, props) in objects.items():
            if value == ours or _ref._type != 'VirtualMachine':
                continue
            config = discovery.extra_config(props)
            volume_id = config.get(discovery.VOLUME_ID_KEY)
            if not volume_id:
                continue
            files = {getattr(d.backing, 'fileName', None)
                     for d in retrieve.items(props.get(
                         'config.hardware.device'), 'VirtualDevice')
                     if d.__class__.__name__ == 'VirtualDisk'}
            origin = config.get(ORIGIN_KEY)
            if origin:
                try:
                    files.add(json.loads(origin).get('path'))
                except ValueError:
                    pass
            if disk.ds_path in files:
                raise invalid(existing_ref, '%s is %s (volume %s, VM %s).' % (
                    disk.ds_path, safety.ALREADY_MANAGED, volume_id,
                    props.get('name', value)))

    # A source's state, read back after an error removing it.
    GONE, INTACT, DAMAGED = 'gone', 'intact', 'partly deleted'

    def _source_files(self, disk):
        """The names of the source's descriptor and data files."""
        files = self._folder_of(disk)
        info = files.get(_file_name(disk.path))
        if info is None:
            raise RuntimeError('%s is not there' % disk.ds_path)
        extents = [_file_name(str(e)) for e in
                   getattr(info, 'diskExtents', None) or []]
        return (_file_name(disk.path),) + tuple(e for e in extents
                                                if e in files)

    def _folder_of(self, disk):
        folder = disk.path.rsplit('/', 1)[0] if '/' in disk.path else ''
        return search.folder_files(
            self._session, retrieve.browser_of(self._session,
                                               disk.datastore_ref),
            disk.datastore, folder)

    def _source_state(self, disk, source):
        """GONE, INTACT or DAMAGED, as vCenter holds the source now."""
        files = self._folder_of(disk)
        present = [name for name in source if name in files]
        if not present:
            return self.GONE
        info = files.get(source[0])
        if len(present) == len(source) and info is not None and int(
                getattr(info, 'capacityKb', 0) or 0) * 1024 == \
                disk.capacity_bytes:
            return self.INTACT
        return self.DAMAGED

    def _remove_source(self, disk, source):
        """Delete the copied source disk.

        Delete the copied source.  After an error vCenter's files
        decide: a source that is gone (a lost answer whose retry found no
        file) or partly gone leaves the verified copy as the disk.
        """
        try:
            vdisks.delete(self._session,
                          self._dc_of(disk.datastore_ref), disk.ds_path)
            return
        except Exception as err:
            error = err
        try:
            state = self._source_state(disk, source)
        except Exception as err:
            LOG.warning('After removing %s answered %s, its files could not '
                        'be read: %s', disk.ds_path, error, err)
            raise error
        if state == self.INTACT:
            raise error
        LOG.warning('Removing the source %s answered %s; the source is %s, '
                    'so its checked copy is the disk now%s.', disk.ds_path,
                    error, state, '' if state == self.GONE else
                    ': delete what is left of the source by hand')

    def _delete_copy(self, disk, source, target):
        """Undo a copy, only while the source is verifiably intact."""
        try:
            state = self._source_state(disk, source)
        except Exception as err:
            state = 'not readable (%s)' % err
        if state != self.INTACT:
            raise RuntimeError('kept the copy %s: the source %s is %s'
                               % (target.copy_to, disk.ds_path, state))
        vdisks.delete(self._session, target.dc, target.copy_to,
                      missing_ok=True)

    def _take_off_vm(self, disk, undo, progress):
        session = self._session
        vm = vim_util.get_moref(disk.vm.ref, 'VirtualMachine')
        progress.append('detach the disk from VM %s' % disk.vm.name)
        # Registered before the detach: one whose answer is lost did
        # detach (re-attaching is a no-op when the VM still has it).
        undo.push('re-attach the disk to VM %s' % disk.vm.name,
                  lambda: adopt.attach_at(
                      session, vm, disk.ds_path, disk.capacity_bytes,
                      disk.thin, disk.vm.controller_key,
                      disk.vm.unit_number))
        adopt.detach(session, vm, disk.ds_path)

    # -- unmanage -------------------------------------------------------

    def unmanage(self, volume):
        """Give a taken-over disk back.

        Give a taken-over disk back; returns False when the volume was
        not taken over (the caller then does upstream's unmanage).
        """
        backing = self._driver.volumeops.get_backing(volume['name'],
                                                     volume['id'])
        if not backing:
            return True
        session = self._session
        config = adopt.shadow_extra_config(session, backing)
        if not config.get(ORIGIN_KEY):
            return False
        origin = json.loads(config[ORIGIN_KEY])
        try:
            if self._driver.volumeops.snapshot_exists(backing):
                # VM snapshots depend on the shadow VM (Cinder refuses to
                # unmanage a volume with Cinder snapshots, so these are an
                # admin's): removing them would lose them. Keep it.
                self._keep(backing, volume, 'VM snapshots depend on it')
                return True
            self._release(volume, backing, origin)
            return True
        finally:
            self._driver.takeover_listing().touched(
                discovery.split_ds_path(origin.get(key))[0]
                for key in ('path', 'copied_to') if origin.get(key))

    def _keep(self, backing, volume, why):
        self._clear_markers(backing, volume)
        LOG.info('Unmanaged volume %s: its disk stays on VM %s (%s).',
                 volume['id'], volume['name'], why)

    def _clear_markers(self, backing, volume):
        keys = dict.fromkeys(self._port.extra_config(volume), '')
        keys.update({ORIGIN_KEY: '', DISK_BYTES_KEY: ''})
        self._driver.volumeops.update_backing_extra_config(backing, keys)

    def _release(self, volume, backing, origin):
        """Release the disk from the shadow VM and destroy that VM.

        Detach the disk, make sure it is out of the shadow VM's folder
        (destroying the VM deletes its folder), put it back on its VM if it
        came from one and is where it was, and destroy the shadow VM.
        """
        session = self._session
        device = devices.first_disk(session, backing)
        if device is not None:
            file_name = device.backing.fileName
            adopt.detach(session, backing, file_name)
        else:
            # An earlier unmanage got this far: the disk is where it left it.
            file_name = self._where_is(volume, backing, origin)
        if adopt.in_home_folder(session, backing, file_name):
            # Copied in, or moved in by a migration: out before the VM goes.
            moved = self._move_out(volume, backing, device, file_name,
                                   origin)
            if moved is None:
                return
            file_name = moved
        where = 'a loose file'
        vm = origin.get('vm')
        if vm and file_name == origin['path'] and self._can_return_to(vm):
            if self._return_to(vm, file_name, origin, device):
                where = 'attached to VM %s again' % vm['name']
        adopt.destroy_shadow(session, backing)
        LOG.info('Unmanaged volume %s: disk %s is %s.', volume['id'],
                 file_name, where)

    def _return_to(self, vm, file_name, origin, device):
        """Attach the disk again to the VM it came from.

        Attach the disk to the VM it came from, at its old slot; tried
        twice (after an error the VM is read: holding the disk, vCenter
        attached it and the answer was lost).  False when it stays a loose
        file.
        """
        session = self._session
        ref = vim_util.get_moref(vm['ref'], 'VirtualMachine')
        for attempt in (1, 2):
            try:
                adopt.attach_at(session, ref, file_name,
                                origin['capacity_bytes'],
                                device.backing.thinProvisioned
                                if device else True, vm['controller_key'],
                                vm['unit_number'])
                return True
            except Exception as err:
                try:
                    if file_name in {d.backing.fileName for d in
                                     devices.disks(session, ref)}:
                        return True
                except Exception:  # noqa: B902 - unknown: as not attached
                    pass
                LOG.warning('Could not put %s back on VM %s (attempt %d: '
                            '%s)%s.', file_name, vm['name'], attempt, err,
                            '; it is left as a loose file'
                            if attempt == 2 else '')
        return False

    def _move_out(self, volume, backing, device, file_name, origin):
        """Move the detached disk back to its original folder and name.

        Move the detached disk to its original folder and name on the
        datastore it is on now (never overwriting); the new path, or None
        when it could not move: then it goes back on the shadow VM, which
        is kept without Cinder's markers.
        """
        session = self._session
        datastore, _path = discovery.split_ds_path(file_name)
        _ds, original = discovery.split_ds_path(origin['path'])
        destination = '[%s] %s' % (datastore, original)
        dc = self._driver.volumeops.get_dc(backing)
        try:
            folder = original.rsplit('/', 1)[0] if '/' in original else ''
            if folder:
                # MoveVirtualDisk makes no folders.
                self._driver.volumeops.create_datastore_folder(
                    datastore, folder, dc)
            vdisks.move(session, dc, file_name, destination)
            return destination
        except Exception as err:
            if self._moved(backing, file_name, destination):
                LOG.warning('Moving %s to %s answered %s, but it is there '
                            'now: moved.', file_name, destination, err)
                return destination
            LOG.warning('Could not move %s to %s (%s); it stays on VM %s.',
                        file_name, destination, err, volume['name'])
        if device is None:
            raise exception.VolumeBackendAPIException(data=(
                'Unmanaging volume %s: its disk %s could not move out of '
                'shadow VM %s\'s folder to %s; it is kept there, detached. '
                'Fix the cause and unmanage again.' % (
                    volume['id'], file_name, volume['name'], destination)))
        adopt.attach_at(session, backing, file_name,
                        device.capacityInKB * 1024,
                        device.backing.thinProvisioned,
                        device.controllerKey, device.unitNumber)
        self._keep(backing, volume, 'it could not move out of its folder')
        return None

    def _moved(self, backing, source, destination):
        """Tell whether a failed move was done after all.

        After a move's error: True when vCenter holds the disk at the
        destination and no longer at the source (a lost answer).
        """
        try:
            return (adopt.file_exists(self._session, backing, destination)
                    and not adopt.file_exists(self._session, backing,
                                              source))
        except Exception as err:
            LOG.warning('Could not look for %s: %s', destination, err)
            return False

    def _where_is(self, volume, backing, origin):
        """Find where the detached disk of a shadow VM is now.

        Where the detached disk of a shadow VM is now: in the VM's
        folder (copied or moved in, not yet moved out), else where the
        earlier unmanage moved it or where it came from.
        """
        home = [f for f in adopt.home_disk_files(self._session, backing)
                if not references.is_extent_name(f)]
        if len(home) > 1:
            raise exception.VolumeBackendAPIException(data=(
                'Unmanaging volume %s: shadow VM %s has no disk and its '
                'folder holds several (%s); left as it is. Keep the one '
                'that is the volume\'s and unmanage again.' % (
                    volume['id'], volume['name'], ', '.join(home))))
        if home:
            return home[0]
        if origin.get('copied_to'):
            datastore, _path = discovery.split_ds_path(origin['copied_to'])
            _ds, original = discovery.split_ds_path(origin['path'])
            return '[%s] %s' % (datastore, original)
        return origin['path']

    def _can_return_to(self, vm):
        try:
            state = retrieve.one(
                self._session, vim_util.get_moref(vm['ref'], 'VirtualMachine'),
                'runtime.powerState')
        except Exception:
            return False
        return state == records.POWERED_OFF


def _file_name(path):
    """The last part of a '[ds] a/b' path or a bare name."""
    return path.rsplit('/', 1)[-1].rsplit('] ', 1)[-1]


def _on_vm(vm, vm_path):
    return vm is not None and vm.inventory_path.strip('/') == vm_path


def _entry_copy(entry):
    """A page's own copy of a listing entry.

    Its values are scalars and dicts of scalars (``reference``,
    ``extra_info``), so two levels are the whole entry, at a tenth of
    ``copy.deepcopy``'s time for thousands of entries.
    """
    return {key: dict(value) if isinstance(value, dict) else value
            for key, value in entry.items()}


def _stable_order(entry):
    return json.dumps(entry['reference'], sort_keys=True, default=str)
