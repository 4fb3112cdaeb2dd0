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
"""The operator commands' global options, declared once.

``cinder-vmware`` takes the options that choose the backend as
--config-file, --backend, --host and --trace-soap; ``openstack vmware``
(where the --os-* options are openstackclient's) as --vmware-config-file
and so on, with defaults from the environment.  openstackclient imports
this module on every start (through ``osc_plugin``): it imports nothing
else.
"""

import os


class Option(object):
    """A global option: what it is, and the notes its help adds.

    A note naming ``{env}`` (the environment variable) is said only where
    the option's default comes from the environment.
    """

    def __init__(self, dest, what, notes, env=None, metavar=None,
                 **options):
        self.dest, self.what, self.notes = dest, what, notes
        self.env, self.metavar, self.options = env, metavar, options

    def help(self, with_env):
        notes = [note.format(env=self.env) for note in self.notes
                 if with_env or '{env}' not in note]
        return '%s (%s).' % (self.what, '; '.join(notes))

    def add_to(self, parser, name=None, with_env=False):
        """Add it as NAME (default --DEST), from the environment or not."""
        options = dict(self.options, dest=self.dest,
                       help=self.help(with_env))
        if with_env and self.metavar:
            options['metavar'] = self.metavar
        if with_env and self.env:
            value = os.environ.get(self.env)
            if options.get('action') == 'append':
                value = [value] if value else []
            options['default'] = value
        parser.add_argument(name or '--' + self.dest.replace('_', '-'),
                            **options)


BACKEND = (
    Option('config_file', 'cinder.conf holding the backend section',
           ('repeatable', 'env {env}', 'default /etc/cinder/cinder.conf'),
           env='CINDER_VMWARE_CONFIG_FILE', metavar='<file>',
           action='append', default=[]),
    Option('backend', 'the backend section of the VMware driver',
           ('env {env}', 'default: the only enabled_backends entry'),
           env='CINDER_VMWARE_BACKEND', metavar='<section>'),
    Option('host', "cinder-volume's host name, for host@backend#pool",
           ('env {env}', 'default: [DEFAULT] host, else this machine'),
           env='CINDER_VMWARE_HOST', metavar='<host>'),
)
TRACE_SOAP = Option('trace_soap', 'log every SOAP request and answer to '
                    'vCenter', ('very verbose', 'passwords, session keys '
                                'and cookies masked'), action='store_true')
# cinder-vmware's own (openstack takes openstackclient's).
OS_CLOUD = Option('os_cloud', 'a cloud of clouds.yaml, read by openstacksdk',
                  ('env {env}',), env='OS_CLOUD', metavar='<cloud>')
OS_REGION_NAME = Option(
    'os_region_name', "Cinder's region",
    ('env {env}', "default: the cloud's region_name"),
    env='OS_REGION_NAME', metavar='<region>')
OS_VOLUME_API_VERSION = Option(
    'os_volume_api_version', 'volume API microversion',
    ("env {env}, else the cloud's volume_api_version", 'default 3.8',
     'a bare 3 means 3.8'), env='OS_VOLUME_API_VERSION', metavar='<version>')
# openstack vmware's own.
OS_VMWARE_API_VERSION = Option(
    'os_vmware_api_version', 'version of the vmware command group',
    ('only 1', 'env {env}'), env='OS_VMWARE_API_VERSION', metavar='<version>')
