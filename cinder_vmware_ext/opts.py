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
"""Configuration options of the cinder-vmware-ext driver.

Options are registered in the backend's section (like the upstream VMDK
driver's ``vmware_*`` options), and listed for ``oslo-config-generator``
through the ``oslo.config.opts`` entry point ``cinder_vmware_ext``.
"""

import copy

from oslo_config import cfg

from cinder.volume import configuration

pool_opts = [
    cfg.StrOpt('vmware_pool_mode',
               default='cluster',
               choices=[('cluster', 'Report one pool per configured compute '
                                    'cluster (the upstream behaviour: the '
                                    'driver picks a datastore itself).'),
                        ('datastore', 'Report one pool per usable datastore, '
                                      'so the scheduler sees each '
                                      'datastore\'s capacity and can place '
                                      'a volume on a given datastore.')],
               help='How the backend reports its capacity to the Cinder '
                    'scheduler: as one pool per compute cluster or as one '
                    'pool per datastore.'),
    cfg.StrOpt('vmware_placement_policy',
               default='best_fit',
               choices=[('best_fit', 'Among the pool\'s datastores that can '
                                     'hold the volume, use the one with the '
                                     'least free space left after it, '
                                     'keeping large free extents for large '
                                     'volumes.'),
                        ('most_free', 'Use the datastore with the most free '
                                      'space, spreading volumes and leaving '
                                      'room for thin disks to grow.')],
               help='How a datastore is chosen inside the pool the '
                    'scheduler picked.'),
]

# Snapshots and clones (extensions/volume_snapshots.py, extensions/clones.py).
snapshot_opts = [
    cfg.IntOpt('vmware_max_snapshot_chain_depth',
               default=32,
               min=0,
               help='Most delta disks a volume\'s disk chain may have: a COW '
                    'snapshot that would make the chain deeper is refused, '
                    'and a linked clone that would is made as a full clone '
                    'instead. Every COW snapshot and every linked clone '
                    'adds a level that each read may go through. vSphere '
                    'supports at most 32 (the default); 0 means no limit. '
                    'The depth is shown in the snapshot\'s (and a linked '
                    'clone\'s) metadata key vmware_chain_depth.'),
    cfg.BoolOpt('vmware_group_snapshot_quiesce',
                default=False,
                help='Ask VMware Tools in the instance to quiesce its file '
                     'systems when a consistent group snapshot freezes the '
                     'volumes attached to one instance VM (one snapshot of '
                     'the instance VM, memory never included). False (the '
                     'default) makes the group snapshot crash-consistent; '
                     'True fails it when the instance cannot quiesce.'),
]

# Image-volume cache (extensions/image_cache.py).
image_cache_opts = [
    cfg.BoolOpt('vmware_image_cache_enabled',
                default=False,
                help='Keep one cached image backing (a VM named '
                     'cinder-image-cache-<image id>-<pool hash>) per Glance '
                     'image and pool: the first volume from an image in a '
                     'pool downloads it once, later ones are clones of the '
                     'cached backing (linked clones when the volume type '
                     'says vmware:clone_type = linked). The driver\'s own '
                     'equivalent of Cinder\'s image_volume_cache_enabled, '
                     'which needs no internal tenant.'),
    cfg.IntOpt('vmware_image_cache_max_size_gb',
               default=0,
               min=0,
               help='Most gigabytes of cached image backings per pool; the '
                    'least recently used are evicted past it, except those '
                    'linked clones still read. 0 means no limit.'),
    cfg.IntOpt('vmware_image_cache_max_count',
               default=0,
               min=0,
               help='Most cached image backings per pool; the least '
                    'recently used are evicted past it, except those '
                    'linked clones still read. 0 means no limit.'),
]

takeover_opts = [
    cfg.IntOpt('vmware_takeover_listing_max_age',
               default=60,
               min=0,
               help='Seconds a listing of manageable disks is reused, across '
                    'the pages of one pagination and quick successive '
                    'calls, before the estate is discovered afresh. A '
                    'change vCenter reports (a VM, or a datastore\'s '
                    'figures) and a manage or unmanage through this backend '
                    'refresh the affected part before then. 0 discovers '
                    'the whole estate on every call. The same age bounds '
                    'the mirror of the inventory that manage checks its '
                    'disk against (read whole again after it).'),
]

vmware_ext_opts = (pool_opts + snapshot_opts + image_cache_opts +
                   takeover_opts)

CONF = cfg.CONF
CONF.register_opts(vmware_ext_opts, group=configuration.SHARED_CONF_GROUP)


def list_opts():
    """Option groups for oslo-config-generator.

    The options belong in each backend's own section; the generator shows
    them under ``backend_defaults``, as it does for upstream drivers.
    """
    return [(configuration.SHARED_CONF_GROUP, copy.deepcopy(vmware_ext_opts))]
