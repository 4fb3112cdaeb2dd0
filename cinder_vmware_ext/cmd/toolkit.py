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
"""What the operator commands (disk, snapshot, audit, evacuate) share: the
backend's vCenter session, one read of every VM, finding a VM by name or
by the Cinder volume it backs, and a progress bar on a terminal."""

import dataclasses
import re
import sys
import time

from oslo_vmware import vim_util

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.vsphere import retrieve

VOLUME_ID_KEY = 'cinder.volume.id'
UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# Names Cinder gives (upstream's and this driver's): backings are named
# after the volume, snapshots (COW points and template VMs) after the
# Cinder snapshot, a linked clone's temporary snapshot after the clone.
VOLUME_NAME = re.compile(r'^volume-(%s)$' % UUID)
SNAPSHOT_NAME = re.compile(r'^snapshot-(%s)$' % UUID)
TEMP_SNAPSHOT_NAME = re.compile(r'^temp-snapshot-(%s)$' % UUID)

VM_PROPERTIES = ['name', 'parent', 'runtime.powerState',
                 'config.hardware.device', 'config.extraConfig',
                 'config.template', 'config.instanceUuid', 'snapshot']


class ToolkitError(Exception):
    """Bad input or a refusal: one line for the operator, exit code 1."""


@dataclasses.dataclass
class Vm:
    """One VM (or template) as the operator commands see it."""

    ref: object
    name: str
    power_state: str
    template: bool
    volume_id: str       # the Cinder volume it backs, or None
    devices: list
    snapshot_info: object
    datacenter: object = None
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def value(self):
        return vim_util.get_moref_value(self.ref)

    def disks(self):
        return [d for d in self.devices
                if d.__class__.__name__ == 'VirtualDisk']

    def disk_files(self):
        """Every file of its disks: the top files and their parents."""
        files = []
        for disk in self.disks():
            backing = disk.backing
            while backing is not None:
                files.append(backing.fileName)
                backing = getattr(backing, 'parent', None)
        return files


def volume_id_of(name, extra, instance_uuid):
    """Return the Cinder volume id a VM backs.

    The Cinder volume a VM backs: its extraConfig key, else its name
    (upstream's backings are named volume-<id>, their instanceUuid the
    id).
    """
    if extra.get(VOLUME_ID_KEY):
        return extra[VOLUME_ID_KEY]
    match = VOLUME_NAME.match(name or '')
    if match and (not instance_uuid or instance_uuid == match.group(1)):
        return match.group(1)
    return None


def read_vms(session):
    """Read VMs, folders, datacenters and datastores in one pass.

    (every VM, {moref value: (ref, props)} of VMs, folders,
    datacenters and datastores), in one PropertyCollector pass.
    """
    objects = retrieve.retrieve(session, {
        'VirtualMachine': VM_PROPERTIES,
        'Folder': ['name', 'parent'],
        'Datacenter': ['name', 'parent'],
        'Datastore': ['name', 'browser', 'parent', 'summary.accessible']})
    vms = []
    for value, (ref, props) in objects.items():
        if ref._type != 'VirtualMachine':
            continue
        extra = {o.key: o.value for o in retrieve.items(
            props.get('config.extraConfig'), 'OptionValue')}
        vms.append(Vm(
            ref=ref, name=props.get('name', value),
            power_state=str(props.get('runtime.powerState') or 'poweredOff'),
            template=bool(props.get('config.template')),
            volume_id=volume_id_of(props.get('name'), extra,
                                   props.get('config.instanceUuid')),
            devices=retrieve.items(props.get('config.hardware.device'),
                                   'VirtualDevice'),
            snapshot_info=props.get('snapshot'),
            datacenter=retrieve.datacenter_of(value, objects),
            extra=extra))
    vms.sort(key=lambda vm: vm.name)
    return vms, objects


def find_vm(vms, vm_name=None, volume_id=None):
    """Find the VM named or backing a volume.

    The VM named ``vm_name`` or backing ``volume_id``; a ToolkitError
    naming what is wrong otherwise.
    """
    if volume_id:
        found = [v for v in vms if v.volume_id == volume_id and
                 not v.template]
        if not found:
            raise ToolkitError(
                'volume %s has no backing VM in vCenter (not created yet '
                'with lazy create, or not a volume of this backend)'
                % volume_id)
        return found[0]
    found = [v for v in vms if v.name == vm_name]
    if not found:
        raise ToolkitError('no VM named %r in vCenter' % vm_name)
    if len(found) > 1:
        raise ToolkitError('%d VMs are named %r; give --volume instead'
                           % (len(found), vm_name))
    return found[0]


def one_line(err):
    """An error as one line of text."""
    return ' '.join(str(err).split()) or err.__class__.__name__


class Connection(object):
    """The backend section, its host@backend and a vCenter session."""

    def __init__(self, app_options):
        try:
            self.section, self.backend_host = backend.load(
                app_options.config_file, app_options.backend,
                app_options.host)
            self.session = backend.session(self.section)
        except backend.BackendError as err:
            raise ToolkitError(str(err))

    def close(self):
        try:
            self.session.logout()
        except Exception:  # a session already gone needs no logout
            pass


class Progress(object):
    """A one-line progress bar on stderr, shown only on a terminal.

    Counted items (``advance``): ``[#####.....] 12/40 6.0/min ETA 4m40s``,
    the rate being the items done per minute since the start and the ETA
    what is left at that rate.  A measured part (``percent=True``,
    ``update(done)`` of ``total`` bytes or percent):
    ``[#####.....]  40% label``, redrawn at most every 0.2 s.
    """

    def __init__(self, total, stream=None, width=30, clock=time.monotonic,
                 label='', percent=False):
        self._stream = stream or sys.stderr
        self._total = max(int(total), 0)
        self._done = 0
        self._width = width
        self._clock = clock
        self._start = clock()
        self._label = label
        self._percent = percent
        self._on = self._total > 0 and bool(
            getattr(self._stream, 'isatty', lambda: False)())
        self._shown = None
        self._ended = False

    def line(self):
        done = min(self._done, self._total)
        filled = self._width * done // self._total if self._total else 0
        text = '[%s%s]' % ('#' * filled, '.' * (self._width - filled))
        if self._percent:
            part = 100 * done // self._total if self._total else 0
            return '%s %3d%% %s' % (text, part, self._label[:40])
        text += ' %d/%d' % (self._done, self._total)
        elapsed = self._clock() - self._start
        if self._done and elapsed > 0:
            per_second = self._done / elapsed
            left = int(round((self._total - self._done) / per_second))
            text += ' %.1f/min ETA %s' % (per_second * 60, _duration(left))
        return text

    def advance(self):
        self.update(self._done + 1)

    def update(self, done, label=None):
        self._done = done
        if label is not None:
            self._label = label
        if not self._on or self._ended:
            return
        complete = done >= self._total
        if self._percent and not complete:
            now = self._clock()
            if self._shown is not None and now - self._shown < 0.2:
                return
            self._shown = now
        self._stream.write('\r' + self.line() + '\033[K')
        if complete:
            self._stream.write('\n')
            self._ended = True
        self._stream.flush()

    def finish(self):
        """End the bar's line (once; nothing when it was never shown)."""
        if self._on and not self._ended:
            self._stream.write('\n')
            self._stream.flush()
            self._ended = True


def _duration(seconds):
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return '%dh%02dm' % (hours, minutes)
    if minutes:
        return '%dm%02ds' % (minutes, seconds)
    return '%ds' % seconds
