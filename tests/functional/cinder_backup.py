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
"""cinder-backup's side of a backup and a restore of a VMware volume.

As cinder-backup's manager does them through os-brick's
``VmdkConnector`` (tests/functional/test_backup_restore.py tells what
os-brick does on each side), for the functional tests and the fault
matrix.
"""

import os
import time

from os_brick.initiator.connectors import vmware as brick_vmware
from oslo_utils import units

from tests.functional import driver_fixtures as fx


# What cinder-backup's brick_get_connector_properties gives the driver:
# 'platform' and 'os_type' make it add what os-brick's connector needs.
CONNECTOR = {'platform': 'x86_64', 'os_type': 'linux', 'host': 'backup-1',
             'ip': '192.0.2.10', 'multipath': False}


def backup(driver, volume):
    """Read a volume's backup as cinder-backup does.

    The bytes the backup service stores, read as cinder-backup reads
    them (_attach_device, read the device file, _detach_device).
    """
    info, connector, device = _attach(driver, volume)
    try:
        with open(device['path'], 'rb') as f:
            return f.read()
    finally:
        connector.disconnect_volume(info['data'], device, force=True)
        driver.terminate_connection(volume, CONNECTOR, force=True)
        driver.remove_export(fx.admin_context(), volume)


def restore(driver, volume, data, uploaded=None):
    """Write ``data`` into ``volume`` as cinder-backup's restore does.

    The volume is ``restoring-backup`` while cinder-backup attaches it
    (_run_restore), ``available`` after, ``error_restoring`` when the
    restore failed; ``terminate_connection`` is called only when
    os-brick's ``disconnect_volume`` succeeded (_detach_device).
    ``uploaded`` (a list) receives the name of the device file, which
    os-brick uploads to [ds] cinder_temp under the same name.
    """
    set_status(volume, 'restoring-backup')
    try:
        info, connector, device = _attach(driver, volume)
        if uploaded is not None:
            uploaded.append(os.path.basename(device['path']))
        try:
            # os-brick uploads only a file modified after connect_volume (by
            # mtime); a backup service fetches its data first, so its write
            # comes later than the download's.
            time.sleep(max(0.0, device['last_modified'] + 0.05 - time.time()))
            with open(device['path'], 'wb') as f:
                for at in range(0, len(data), units.Mi):
                    f.write(data[at:at + units.Mi])
        finally:
            connector.disconnect_volume(info['data'], device, force=True)
        driver.terminate_connection(volume, CONNECTOR, force=True)
        driver.remove_export(fx.admin_context(), volume)
    except Exception:
        set_status(volume, 'error_restoring')
        raise
    set_status(volume, 'available')


def _attach(driver, volume):
    """cinder-backup's _attach_volume.

    A failed attach is detached again (terminate_connection with force,
    its own failure ignored).
    """
    try:
        info = driver.initialize_connection(volume, CONNECTOR)
        connector = brick_vmware.VmdkConnector(root_helper=None)
        return info, connector, connector.connect_volume(info['data'])
    except Exception:
        try:
            driver.terminate_connection(volume, CONNECTOR, force=True)
        except Exception:  # noqa: "acceptable", as cinder-backup says
            pass
        raise


def set_status(volume, status):
    volume.status = status
    volume.save()
