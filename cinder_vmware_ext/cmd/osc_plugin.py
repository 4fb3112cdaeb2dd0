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
"""The openstackclient plugin: ``openstack vmware ...``.

Every ``cinder-vmware`` command (the ``cinder_vmware.cli`` entry points)
is also an ``openstack vmware`` command: ``openstack vmware takeover
discover`` runs what ``cinder-vmware takeover discover`` runs. The
command group (``openstack.vmware.v1``) is not a second hand-kept list:
:func:`setup_hook` (pbr's ``[global] setup_hooks`` in setup.cfg) copies
the ``cinder_vmware.cli`` entries into it whenever the package's metadata
is built, so a command added to ``cinder_vmware.cli`` is in both.

Cinder is reached through openstackclient's own session (its
``--os-cloud``, clouds.yaml, ``--os-region-name``, ``--os-interface``,
``--os-volume-api-version``); the backend section of cinder.conf through
the ``--vmware-*`` global options below.

openstackclient imports this module on every start: it imports nothing
heavy at module level.
"""

from cinder_vmware_ext.cmd import app_options

API_NAME = 'vmware'
API_VERSION_OPTION = 'os_vmware_api_version'
API_VERSIONS = ('1',)
DEFAULT_API_VERSION = '1'

SOURCE_GROUP = 'cinder_vmware.cli'
COMMAND_GROUP = 'openstack.vmware.v1'
PREFIX = 'vmware_'


def make_client(instance):
    """Make ``client_manager.vmware``: the Cinder client of our commands.

    What ``client_manager.vmware`` is: the Cinder client our commands
    use, on openstackclient's authenticated session.
    """
    from cinder_vmware_ext.cmd import cinder_api
    return cinder_api.OscClients(instance)


def build_option_parser(parser):
    """Add our global options to openstackclient's parser.

    openstackclient's hook for global options: ours, with the dests
    the commands read (as ``cinder-vmware``'s own options have).
    """
    app_options.OS_VMWARE_API_VERSION.add_to(parser, with_env=True)
    group = parser.add_argument_group(
        'VMware backend options (openstack vmware ...)')
    for option in app_options.BACKEND + (app_options.TRACE_SOAP,):
        option.add_to(group, '--vmware-' + option.dest.replace('_', '-'),
                      with_env=True)
    return parser


def command_entries(source_lines):
    """Derive the ``openstack.vmware.v1`` entry points from ours.

    The ``openstack.vmware.v1`` lines for the ``cinder_vmware.cli``
    lines of setup.cfg (``name = module:Class`` each): the same classes,
    under ``vmware_NAME``.
    """
    entries = []
    for line in source_lines.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, sep, target = line.partition('=')
        if not sep:
            raise ValueError('entry point line without "=": %r' % line)
        entries.append('%s%s = %s' % (PREFIX, name.strip(), target.strip()))
    return entries


def setup_hook(config):
    """Fill the ``openstack.vmware.v1`` entry points (pbr setup hook).

    pbr setup hook: fill ``[entry_points] openstack.vmware.v1`` from
    ``cinder_vmware.cli`` (config is setup.cfg as a dict of sections).
    """
    entry_points = config.setdefault('entry_points', {})
    source = entry_points.get(SOURCE_GROUP, '')
    entry_points[COMMAND_GROUP] = '\n'.join(
        [entry_points.get(COMMAND_GROUP, '')] + command_entries(source))
