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
"""Cinder through python-cinderclient, authenticated the standard way.

Credentials come from the ``--os-*`` options / ``OS_*`` variables through
keystoneauth (any auth type, including Cinder's ``noauth`` plugin from
cinderclient), or from a cloud of clouds.yaml (``--os-cloud``/OS_CLOUD),
read by openstacksdk's config loader (``openstack.config``: the files it
looks in, ``OS_CLIENT_CONFIG_FILE``, secure.yaml, the cloud's region,
interface and ``volume_api_version``). Under openstackclient
(``openstack vmware ...``) its own authenticated session is used.
"""

import os

from cinder_vmware_ext.cmd import redact
from cinder_vmware_ext.takeover import export_format

# Statuses of a volume whose manage or unmanage is over.
DONE = ('available', 'in-use')
FAILED = ('error', 'error_managing', 'error_managing_deleting')
# The volume API version when none is asked for (or only a major one):
# 3.8 lists manageable volumes.
DEFAULT_VOLUME_API_VERSION = '3.8'


class CloudError(Exception):
    """A clouds.yaml problem (no such cloud, a bad entry): one line."""


# The cinder CLI's variables for its noauth mode (cinderclient's noauth
# plugin itself only reads --user-id/--project-id/--endpoint).
NOAUTH_ENVIRONMENT = (('os_user_id', ('OS_USER_ID',)),
                      ('os_project_id', ('OS_PROJECT_ID',)),
                      ('os_endpoint', ('CINDER_ENDPOINT', 'OS_ENDPOINT')))


def volume_api_version(asked):
    """Choose the volume API microversion to ask cinderclient for.

    The microversion to ask cinderclient for: ``asked`` (flag,
    OS_VOLUME_API_VERSION or the cloud's volume_api_version) when it names
    a 3.x microversion, else 3.8; volume API 2 is refused.
    """
    asked = str(asked or '').strip()
    if not asked or asked in ('3', 'latest'):
        return DEFAULT_VOLUME_API_VERSION
    if not asked.startswith('3.'):
        raise CloudError('volume API version %s: only 3.x (e.g. 3.8) is '
                         'supported' % asked)
    return asked


def cloud_region(name, region_name=None):
    """openstacksdk's CloudRegion for a cloud of clouds.yaml."""
    from openstack import config as os_config
    from openstack.config import exceptions
    try:
        loader = os_config.OpenStackConfig()
    except exceptions.OpenStackConfigException as err:
        raise CloudError('clouds.yaml: %s' % ' '.join(str(err).split()))
    try:
        region = loader.get_one(cloud=name, region_name=region_name or None)
    except exceptions.OpenStackConfigException as err:
        raise CloudError('cloud %r (clouds.yaml: %s): %s' % (
            name, loader.config_filename or 'none found',
            ' '.join(str(err).split())))
    redact.add_secret((region.config.get('auth') or {}).get('password'))
    return region


def _with_noauth_environment(options):
    for dest, variables in NOAUTH_ENVIRONMENT:
        if getattr(options, dest, None):
            continue
        for variable in variables:
            if os.environ.get(variable):
                setattr(options, dest, os.environ[variable])
                break


def app_client(app):
    """The cinderclient of a command's app.

    Under openstackclient (``openstack vmware ...``) its own session
    (``client_manager.vmware``); under ``cinder-vmware`` one made from
    the app's options.
    """
    manager = getattr(app, 'client_manager', None)
    if manager is not None:
        return manager.vmware.cinder
    return client(app.options)


def client(options):
    """A cinderclient for the options/environment of ``cinder-vmware``."""
    from cinderclient import client as cinder_client
    from keystoneauth1 import loading
    region_name = getattr(options, 'os_region_name', None)
    cloud_name = options.os_cloud or os.environ.get('OS_CLOUD')
    if cloud_name:
        region = cloud_region(cloud_name, region_name)
        return cinder_client.Client(
            volume_api_version(options.os_volume_api_version or
                               region.config.get('volume_api_version')),
            session=region.get_session(), region_name=region.region_name,
            endpoint_type=region.get_interface('block-storage') or
            'public')
    if getattr(options, 'os_auth_type', None) == 'noauth':
        _with_noauth_environment(options)
    auth = loading.load_auth_from_argparse_arguments(options)
    session = loading.load_session_from_argparse_arguments(options, auth=auth)
    return cinder_client.Client(
        volume_api_version(options.os_volume_api_version), session=session,
        region_name=region_name)


class OscClients(object):
    """Give openstackclient's ``client_manager.vmware`` (a cinderclient).

    ``client_manager.vmware`` under openstackclient: a cinderclient on
    its session, region, interface and volume API version.
    """

    def __init__(self, instance):
        self._instance = instance
        self._cinder = None

    @property
    def cinder(self):
        if self._cinder is None:
            from cinderclient import client as cinder_client
            instance = self._instance
            versions = getattr(instance, '_api_version', None) or {}
            self._cinder = cinder_client.Client(
                volume_api_version(versions.get('volume')),
                session=instance.session,
                region_name=instance.region_name,
                endpoint_type=instance.interface or 'public')
        return self._cinder


def every_volume(cinder):
    """Cinder's volumes of every project, detailed (one listing)."""
    return cinder.volumes.list(detailed=True,
                               search_opts={'all_tenants': 1})


class CinderApi(object):
    """What import and release ask of Cinder."""

    def __init__(self, cinder, poll_seconds=2, timeout_seconds=3600):
        self._cinder = cinder
        self._poll = poll_seconds
        self._timeout = timeout_seconds

    def managed(self):
        """{disk key: volume id} of live volumes made by a takeover."""
        found = {}
        for vol in every_volume(self._cinder):
            key = (getattr(vol, 'metadata', None) or {}).get(
                export_format.SOURCE_KEY)
            if key and vol.status not in FAILED + ('deleting',):
                found[key] = vol.id
        return found

    def manage(self, entry):
        """Start managing an inventory entry; returns the volume id."""
        proposed = entry['proposed']
        vol = self._cinder.volumes.manage(
            entry['host'], entry['reference'], name=proposed.get('name'),
            volume_type=proposed.get('volume_type'),
            metadata=proposed.get('metadata') or {})
        return vol.id

    def _poll_until(self, volume_id, look, settled, still=None):
        """Poll a volume until it settles, fails or the timeout passes.

        Call ``look()`` (a volume, or None once it is gone) every poll
        interval (tenacity) until ``settled(volume)`` is true or the volume
        is in a failed state: (ok, reason). After the timeout: (False,
        'volume ... still <still, else its last status> after Ns').
        """
        import tenacity
        seen = {}

        def verdict():
            vol = look()
            seen['status'] = getattr(vol, 'status', None)
            if settled(vol):
                return True, None
            if vol is not None and vol.status in FAILED:
                return False, 'volume %s is %s' % (volume_id, vol.status)
            return None
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_result(lambda result: result is None),
            # Quick looks first (a manage often settles within a second
            # or two), then every poll interval: a fixed 2 s wait was most
            # of a disk's time at concurrency 1.
            wait=tenacity.wait_exponential(multiplier=self._poll / 16.0,
                                           max=self._poll),
            stop=tenacity.stop_after_delay(self._timeout),
            retry_error_callback=lambda state: (False, None))
        ok, reason = retrying(verdict)
        if ok or reason:
            return ok, reason
        return False, 'volume %s still %s after %ds' % (
            volume_id, still or seen.get('status'), self._timeout)

    def wait(self, volume_id):
        """(ok, reason) once a managed volume settles."""
        return self._poll_until(
            volume_id, lambda: self._cinder.volumes.get(volume_id),
            lambda vol: vol.status in DONE)

    def unmanage(self, volume_id):
        self._cinder.volumes.unmanage(volume_id)

    def gone(self, volume_id):
        """(ok, reason) once an unmanaged volume is gone from Cinder."""
        from cinderclient import exceptions

        def look():
            try:
                return self._cinder.volumes.get(volume_id)
            except exceptions.NotFound:
                return None
        return self._poll_until(volume_id, look, lambda vol: vol is None,
                                still='there')
