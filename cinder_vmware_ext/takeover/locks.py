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
"""One manage of a disk at a time, across cinder-volume services.

Two services (or two threads of one) managing the same disk would make it
two volumes, and deleting either would delete the other's data.  So a
manage holds the disk's lock from its check to its end: a
``cinder.coordination`` lock (the ``[coordination] backend_url`` every
service of the cluster shares, e.g. etcd), named after the vCenter
instance, the datastore and the path, so every service taking over disks
of that vCenter agrees on it.
"""

import contextlib
import hashlib
import re

from cinder import coordination
from oslo_log import log as logging

from cinder_vmware_ext import locks

LOG = logging.getLogger(__name__)

_warned = []


def lock_name(instance_uuid, datastore, path):
    """Return the lock name of a disk (ASCII, as tooz wants).

    ``vmware-disk-<vCenter instance UUID>-<datastore>-<path digest>``:
    ASCII, as tooz wants, whatever the datastore and file names.
    """
    digest = hashlib.sha256(path.encode('utf-8')).hexdigest()[:32]
    return 'vmware-disk-%s-%s-%s' % (
        _ascii(instance_uuid) or 'vcenter', _ascii(datastore), digest)


def _ascii(text):
    return re.sub(r'[^A-Za-z0-9_.-]', '_', str(text or ''))


def instance_uuid(session):
    about = getattr(session.vim.service_content, 'about', None)
    return getattr(about, 'instanceUuid', None)


@contextlib.contextmanager
def disk_lock(session, disk):
    """Hold the lock of ``disk`` (a DiskRecord) for the ``with`` block.

    cinder-volume starts ``coordination.COORDINATOR``; a process that has
    not (a tool, a test) gets a lock of this process only, and a warning.
    """
    name = lock_name(instance_uuid(session),
                     disk.datastore_ref or disk.datastore, disk.path)
    if coordination.COORDINATOR.coordinator is None:
        if not _warned:
            _warned.append(True)
            LOG.warning('cinder.coordination is not started: managing '
                        'disks is serialized within this process only.')
        lock = locks.local_lock(name)
    else:
        lock = locks.across_services(name)
    LOG.debug('Taking lock %s for %s.', name, disk.ds_path)
    with lock:
        yield name
