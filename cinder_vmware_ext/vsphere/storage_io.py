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
"""Storage I/O Control of a datastore: StorageResourceManager's
ConfigureDatastoreIORM_Task (the settings themselves are the datastore's
``iormConfiguration``, read by ``datastores.details``)."""

from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve

# StorageIORMInfo fields shown, in order.
FIELDS = ('enabled', 'congestionThresholdMode', 'congestionThreshold',
          'percentOfPeakThroughput', 'statsCollectionEnabled',
          'statsAggregationDisabled', 'reservationEnabled')


def as_dict(iorm):
    """A StorageIORMInfo as {field: value} (unset fields None)."""
    return {name: getattr(iorm, name, None) if iorm is not None else None
            for name in FIELDS}


def configure(session, datastore_ref, enabled=None, threshold_ms=None,
              percent_of_peak=None, stats_collection=None):
    """Configure a datastore's Storage I/O Control.

    ConfigureDatastoreIORM_Task with what is given; unset fields keep
    their value.  A threshold in ms selects the manual mode, a percent of
    peak throughput the automatic one.
    """
    vim = session.vim
    spec = vim.client.factory.create('ns0:StorageIORMConfigSpec')
    if enabled is not None:
        spec.enabled = enabled
    if threshold_ms is not None:
        spec.congestionThresholdMode = 'manual'
        spec.congestionThreshold = threshold_ms
    if percent_of_peak is not None:
        spec.congestionThresholdMode = 'automatic'
        spec.percentOfPeakThroughput = percent_of_peak
    if stats_collection is not None:
        spec.statsCollectionEnabled = stats_collection
    faults.unless_applied(
        lambda: session.wait_for_task(session.invoke_api(
            vim, 'ConfigureDatastoreIORM_Task',
            vim.service_content.storageResourceManager,
            datastore=datastore_ref, spec=spec)),
        lambda: _applied(session, datastore_ref, spec),
        'Configuring Storage I/O Control')


def _applied(session, datastore_ref, spec):
    """Whether the datastore's settings are those ``spec`` gives."""
    now = retrieve.one(session, datastore_ref, 'iormConfiguration')
    return all(getattr(now, name, None) == getattr(spec, name)
               for name in FIELDS if getattr(spec, name, None) is not None)
