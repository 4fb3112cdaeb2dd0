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
"""Image-volume cache made of cached image backings and their clones.

See doc/image-cache.md.  With ``vmware_image_cache_enabled``, the first
volume made from a Glance image in a pool is downloaded once (upstream's
``copy_image_to_volume``) and then fully cloned into one cached image
backing of that image and pool, a powered-off VM named
``cinder-image-cache-<image id>-<pool hash>`` with one snapshot point
(``image-cache-base``).  Later volumes from the image in that pool are
clones of that point: linked clones when the volume type says
``vmware:clone_type = linked`` (and a linked clone is possible, see
extensions/clones.py), full clones otherwise; never a Glance download.

Eviction is least recently used, per pool, past
``vmware_image_cache_max_count`` entries or ``vmware_image_cache_max_size_gb``
gigabytes; a cached backing whose base disk linked clones still read is
kept, and the log says so.  The last use is kept in the cached backing's
extraConfig (``LAST_USED_KEY``), so every service evicts by the same order;
an entry is evicted only under its own lock, so never while another
service clones from it.
"""

import hashlib
import math
import time
import uuid

from cinder.volume.drivers.vmware import volumeops
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_utils import units

from cinder_vmware_ext import locks
from cinder_vmware_ext.vsphere import backings
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import usage

LOG = logging.getLogger(__name__)

CACHE_PREFIX = 'cinder-image-cache-'
BASE_SNAPSHOT = 'image-cache-base'
LAST_USED_KEY = 'cinder.image_cache.last_used'   # epoch seconds
# A hit rewrites LAST_USED_KEY at most this often (seconds): a boot storm
# from one image makes one reconfiguration a minute, not one per volume.
TOUCH_EVERY = 60.0
_NAMESPACE = uuid.UUID('5b0c7d3e-1f57-4d43-9a52-3c7f6b1e2a17')


def pool_tag(pool):
    """Short, name-safe tag of a pool name."""
    return hashlib.sha1((pool or '').encode('utf-8')).hexdigest()[:8]


def cache_name(image_id, pool):
    return '%s%s-%s' % (CACHE_PREFIX, image_id, pool_tag(pool))


def cache_uuid(image_id, pool):
    """The cached backing's instanceUuid (found by it in one call)."""
    return str(uuid.uuid5(_NAMESPACE, '%s/%s' % (image_id, pool or '')))


def is_cache_name(name):
    """Tell whether a VM name is one of the cached image backings.

    Whether a VM name is one of the driver's cached image backings
    (for audits: Cinder's own, not a leak).
    """
    return bool(name) and name.startswith(CACHE_PREFIX)


def parse_name(name):
    """(image id, pool tag) of a cached backing's name, or None."""
    if not is_cache_name(name):
        return None
    image_id, sep, tag = name[len(CACHE_PREFIX):].rpartition('-')
    return (image_id, tag) if sep and image_id else None


class ImageCacheMixin(object):
    """``clone_image`` by cached image backings (doc/image-cache.md)."""

    # Last use of each cached backing by this process (epoch seconds), and
    # when this process last wrote it to the backing's LAST_USED_KEY.
    _image_cache_used = None
    _image_cache_written = None

    def _image_cache_enabled(self):
        return bool(self.configuration.safe_get('vmware_image_cache_enabled'))

    def _volume_pool(self, volume):
        host = volume['host']
        return volume_utils.extract_host(host, 'pool') if host else None

    def _find_cached(self, image_id, pool):
        # By instanceUuid only: upstream's get_backing falls back to a
        # name cache filled at start-up, stale once an entry is evicted.
        return self.volumeops.get_backing_by_uuid(cache_uuid(image_id, pool))

    def _cache_touch(self, name, cached=None):
        """Record a use of a cached image.

        Record a use of ``name``; with ``cached`` (its backing) also in
        vCenter, at most every TOUCH_EVERY seconds.
        """
        if self._image_cache_used is None:
            self._image_cache_used, self._image_cache_written = {}, {}
        now = time.time()
        self._image_cache_used[name] = now
        if cached is None or \
                now - self._image_cache_written.get(name, 0.0) < TOUCH_EVERY:
            return
        try:
            self.volumeops.update_backing_extra_config(
                cached, {LAST_USED_KEY: '%.3f' % now})
        except Exception:  # the order of eviction only; the clone is made
            LOG.warning('Could not record the last use of cached image '
                        'backing %s; eviction may take it earlier.', name,
                        exc_info=True)
            return
        self._image_cache_written[name] = now

    def _last_used(self, name, extra_config):
        """The latest use of a cached backing by any service.

        The later of this process's last use of ``name`` and the one
        recorded in the backing's extraConfig (``{key: value}``).
        """
        local = (self._image_cache_used or {}).get(name, 0.0)
        try:
            stored = float(extra_config.get(LAST_USED_KEY) or 0.0)
        except (TypeError, ValueError):
            stored = 0.0
        return max(local, stored)

    def clone_image(self, context, volume, image_location, image_meta,
                    image_service):
        if not self._image_cache_enabled() or \
                image_meta.get('disk_format') != 'vmdk':
            return super(ImageCacheMixin, self).clone_image(
                context, volume, image_location, image_meta, image_service)
        image_id = image_meta['id']
        pool = self._volume_pool(volume)
        name = cache_name(image_id, pool)
        with locks.across_services(name):
            cached = self._find_cached(image_id, pool)
            if cached:
                self._cache_touch(name, cached)
                update = self._clone_cached(volume, cached, name)
                self._evict_image_cache(pool, keep=name)
                return update, True
            LOG.info("Image %(image)s is not cached in pool %(pool)s: "
                     "downloading it for volume %(vol)s.",
                     {'image': image_id, 'pool': pool, 'vol': volume['id']})
            update = self.copy_image_to_volume(context, volume,
                                               image_service, image_id)
            self._fill_cache(volume, image_id, pool, name)
        self._evict_image_cache(pool, keep=name)
        return update, True

    def _fill_cache(self, volume, image_id, pool, name):
        """Fill the image cache from a new volume's backing.

        Full clone of the new volume's backing into the cached backing
        and its base snapshot; nothing left behind when it fails (the
        volume itself is made, and the next volume fills the cache).
        """
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if not backing:
            return
        cache_id = cache_uuid(image_id, pool)
        datastore = usage.datastores_of(self.session, backing)[0]
        cached = None
        try:
            now = time.time()
            cached = self.volumeops.clone_backing(
                name, backing, None, volumeops.FULL_CLONE_TYPE, datastore,
                extra_config={volumeops.BACKING_UUID_KEY: cache_id,
                              LAST_USED_KEY: '%.3f' % now})
            self.volumeops.create_snapshot(
                cached, BASE_SNAPSHOT,
                'Read-only point for clones of image %s.' % image_id)
        except Exception:
            LOG.warning("Could not cache image %(image)s in pool %(pool)s; "
                        "the next volume from it downloads it again.",
                        {'image': image_id, 'pool': pool}, exc_info=True)
            cached = cached or self._find_cached(image_id, pool)
            if cached:
                self.volumeops.delete_backing(cached)
            return
        self._cache_touch(name)
        self._image_cache_written[name] = now
        LOG.info("Cached image %(image)s in pool %(pool)s as %(name)s.",
                 {'image': image_id, 'pool': pool, 'name': name})

    def _cache_size_gb(self, cached):
        return int(math.ceil(self._disk_of(cached).capacityInKB /
                             float(units.Mi)))

    def _clone_cached(self, volume, cached, name):
        base = self.volumeops.get_snapshot(cached, BASE_SNAPSHOT)
        size_gb = self._cache_size_gb(cached)
        if self._get_clone_type(volume) == volumeops.LINKED_CLONE_TYPE:
            parent = self._snapshot_disks(base)[0]
            if self._linked_possible(volume, parent, size_gb):
                LOG.info("Volume %(vol)s: linked clone of cached image "
                         "backing %(name)s.",
                         {'vol': volume['id'], 'name': name})
                return self._linked_clone(volume, cached, base, parent)
        LOG.info("Volume %(vol)s: full clone of cached image backing "
                 "%(name)s.", {'vol': volume['id'], 'name': name})
        self._clone_backing(volume, cached, base, volumeops.FULL_CLONE_TYPE,
                            size_gb)
        return None

    # -- eviction -------------------------------------------------------------

    def _cache_entries(self, pool=None):
        """List the cached backings, least recently used first.

        [(last use, name, image id, pool tag)] of the cached backings
        (of ``pool`` when given), least recently used first.
        """
        used = self._image_cache_used or {}
        entries = []
        for name in backings.names(self.session):
            parsed = parse_name(name)
            if parsed is None:
                continue
            if pool is not None and parsed[1] != pool_tag(pool):
                continue
            entries.append((used.get(name, 0.0), name) + parsed)
        return sorted(entries)

    def _evict_image_cache(self, pool, keep=None):
        """Evict a pool's least recently used cached images over its limits.

        Evict least recently used entries of ``pool`` while it is over
        the cache's limits (never ``keep`` nor one linked clones need).
        """
        max_count = self.configuration.safe_get(
            'vmware_image_cache_max_count') or 0
        max_gb = self.configuration.safe_get(
            'vmware_image_cache_max_size_gb') or 0
        if not max_count and not max_gb:
            return []
        entries = self._cache_figures(pool)
        count = len(entries)
        total = sum(size for _u, _n, _i, size in entries)
        evicted = []
        for _used, name, image_id, size in entries:
            if not ((max_count and count > max_count) or
                    (max_gb and total > max_gb)):
                break
            if name == keep:
                continue
            # Under its own lock, so no service clones from it meanwhile;
            # one in use now is no least recently used entry: skip it.
            with locks.try_across_services(name) as held:
                cached = held and self._find_cached(image_id, pool)
                if cached and self._remove_cached(name, cached):
                    evicted.append(name)
                    count -= 1
                    total -= size
        return evicted

    def _cache_figures(self, pool):
        """Read a pool's cached backings for eviction, in two round trips.

        [(last use, name, image id, size in GiB)] of the cached backings of
        ``pool`` (each found by its name and checked by its instanceUuid),
        least recently used first.
        """
        tag = pool_tag(pool)
        found = backings.named(
            self.session, lambda n: (parse_name(n) or (None, None))[1] == tag,
            ['config.instanceUuid', 'config.extraConfig',
             'config.hardware.device'])
        entries = []
        for name, (_ref, props) in found.items():
            image_id = parse_name(name)[0]
            if props.get('config.instanceUuid') != cache_uuid(image_id,
                                                              pool):
                continue  # named like an entry, but not the driver's
            disks = [d for d in retrieve.items(
                props.get('config.hardware.device'), 'VirtualDevice')
                if d.__class__.__name__ == 'VirtualDisk']
            if not disks:
                continue  # being filled: not an entry to evict yet
            extra = {o.key: o.value for o in retrieve.items(
                props.get('config.extraConfig'), 'OptionValue')}
            size_gb = int(math.ceil(disks[0].capacityInKB / float(units.Mi)))
            entries.append((self._last_used(name, extra), name, image_id,
                            size_gb))
        return sorted(entries)

    def _remove_cached(self, name, cached):
        """Delete a cached backing unless linked clones read its disk.

        Delete a cached backing unless linked clones read its base disk
        (then keep it and log who).
        """
        base = self.volumeops.get_snapshot(cached, BASE_SNAPSHOT)
        files = [self._snapshot_disks(base)[0].fileName] if base else []
        users = self._readers(cached).of(files) if files else []
        if users:
            LOG.warning("Cached image backing %(name)s is kept: linked "
                        "clones %(users)s still read its disk.",
                        {'name': name, 'users': ', '.join(users)})
            return False
        self.volumeops.delete_backing(cached)
        (self._image_cache_used or {}).pop(name, None)
        LOG.info("Evicted cached image backing %s.", name)
        return True

    def evict_image_cache(self, pool=None, image_id=None):
        """Evict the cached backings that no linked clone needs.

        Evict every cached backing (of ``pool``, of ``image_id``) that
        no linked clone needs; returns (evicted names, kept names).
        """
        evicted, kept = [], []
        for _used, name, entry_image, tag in self._cache_entries(pool):
            if image_id is not None and entry_image != image_id:
                continue
            with locks.across_services(name):
                cached = self._find_cached_by_name(name, entry_image, tag,
                                                   pool)
                if not cached:
                    continue
                if self._remove_cached(name, cached):
                    evicted.append(name)
                else:
                    kept.append(name)
        return evicted, kept

    def _find_cached_by_name(self, name, image_id, tag, pool):
        if pool is not None:
            return self._find_cached(image_id, pool)
        for pool_name in self._known_pool_names():
            if pool_tag(pool_name) == tag:
                return self._find_cached(image_id, pool_name)
        return None

    def _known_pool_names(self):
        _inventory_now, pools = self._pools.current()
        return [p.name for p in pools]
