"""Cinder through python-cinderclient, authenticated the standard way.

Credentials come from the ``--os-*`` options / ``OS_*`` variables through
keystoneauth (any auth type, including Cinder's ``noauth`` plugin from
cinderclient), or from a cloud in clouds.yaml (``--os-cloud``/OS_CLOUD).
"""

import os
import time

import yaml

from cinder_vmware_ext.cmd import redact
from cinder_vmware_ext.takeover import export_format

CLOUDS_YAML = ('clouds.yaml', '~/.config/openstack/clouds.yaml',
               '/etc/openstack/clouds.yaml')
# Statuses of a volume whose manage or unmanage is over.
DONE = ('available', 'in-use')
FAILED = ('error', 'error_managing', 'error_managing_deleting')


# The cinder CLI's variables for its noauth mode (cinderclient's noauth
# plugin itself only reads --user-id/--project-id/--endpoint).
NOAUTH_ENVIRONMENT = (('os_user_id', ('OS_USER_ID',)),
                      ('os_project_id', ('OS_PROJECT_ID',)),
                      ('os_endpoint', ('CINDER_ENDPOINT', 'OS_ENDPOINT')))


def _clouds_files():
    """Where clouds.yaml is looked for, as openstacksdk does: the file
    OS_CLIENT_CONFIG_FILE names first."""
    named = os.environ.get('OS_CLIENT_CONFIG_FILE')
    return ((named,) if named else ()) + CLOUDS_YAML


def _cloud(name):
    files = _clouds_files()
    for path in files:
        path = os.path.expanduser(path)
        if os.path.exists(path):
            with open(path) as f:
                clouds = (yaml.safe_load(f) or {}).get('clouds', {})
            if name in clouds:
                return clouds[name]
    raise SystemExit('cloud %r is in none of %s' % (name, ', '.join(files)))


def _with_noauth_environment(options):
    for dest, variables in NOAUTH_ENVIRONMENT:
        if getattr(options, dest, None):
            continue
        for variable in variables:
            if os.environ.get(variable):
                setattr(options, dest, os.environ[variable])
                break


def _auth(options):
    from keystoneauth1 import loading
    cloud_name = options.os_cloud or os.environ.get('OS_CLOUD')
    if cloud_name:
        cloud = _cloud(cloud_name)
        redact.add_secret((cloud.get('auth') or {}).get('password'))
        loader = loading.get_plugin_loader(cloud.get('auth_type', 'password'))
        return loader.load_from_options(**cloud.get('auth', {})), cloud
    if getattr(options, 'os_auth_type', None) == 'noauth':
        _with_noauth_environment(options)
    return loading.load_auth_from_argparse_arguments(options), {}


def client(options):
    """A cinderclient for the options/environment."""
    from cinderclient import client as cinder_client
    from keystoneauth1 import loading
    auth, cloud = _auth(options)
    session = loading.load_session_from_argparse_arguments(options, auth=auth)
    return cinder_client.Client(
        options.os_volume_api_version, session=session,
        region_name=cloud.get('region_name') or
        os.environ.get('OS_REGION_NAME'))


class CinderApi(object):
    """What import and release ask of Cinder."""

    def __init__(self, cinder, poll_seconds=2, timeout_seconds=3600):
        self._cinder = cinder
        self._poll = poll_seconds
        self._timeout = timeout_seconds

    def managed(self):
        """{disk key: volume id} of live volumes made by a takeover."""
        found = {}
        for vol in self._cinder.volumes.list(
                detailed=True, search_opts={'all_tenants': 1}):
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

    def wait(self, volume_id):
        """(ok, reason) once a managed volume settles."""
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            vol = self._cinder.volumes.get(volume_id)
            if vol.status in DONE:
                return True, None
            if vol.status in FAILED:
                return False, 'volume %s is %s' % (volume_id, vol.status)
            time.sleep(self._poll)
        return False, 'volume %s still %s after %ds' % (
            volume_id, vol.status, self._timeout)

    def unmanage(self, volume_id):
        self._cinder.volumes.unmanage(volume_id)

    def gone(self, volume_id):
        from cinderclient import exceptions
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            try:
                vol = self._cinder.volumes.get(volume_id)
            except exceptions.NotFound:
                return True, None
            if vol.status in FAILED:
                return False, 'volume %s is %s' % (volume_id, vol.status)
            time.sleep(self._poll)
        return False, 'volume %s still there after %ds' % (volume_id,
                                                           self._timeout)
