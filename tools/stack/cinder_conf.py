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
"""cinder.conf for a one-machine Cinder control plane with one VMware
backend using this project's driver."""

import os
import sys

DRIVER = 'cinder_vmware_ext.driver.VMwareVcVmdkExtDriver'
BACKEND = 'vmware'
# DriverFilter evaluates the driver's filter_function (the pool's
# placement rules); GoodnessWeigher its goodness_function.
SCHEDULER_FILTERS = ['AvailabilityZoneFilter', 'CapacityFilter',
                     'CapabilitiesFilter', 'DriverFilter']
SCHEDULER_WEIGHERS = ['CapacityWeigher', 'GoodnessWeigher']


def write(path, text):
    """Write cinder.conf readable by its owner only.

    Write cinder.conf readable by its owner only (0600): it holds the
    vCenter password.  An existing file is narrowed before it is
    rewritten, so the password is never in a wider file.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def api_paste_config():
    """The api-paste.ini the cinder package installs beside the venv."""
    path = os.path.join(sys.prefix, 'etc', 'cinder', 'api-paste.ini')
    if not os.path.exists(path):
        raise FileNotFoundError('%s not found: is cinder installed in this '
                                'environment (%s)?' % (path, sys.prefix))
    return path


def render(workdir, api_port, transport_url, vcenter, clusters,
           host='cinder-stack', backend_options=None, database_url=None,
           coordination_url=None, overrides=None):
    """The text of cinder.conf.

    vcenter: what ``vcsim-up`` prints (host, port, username, password,
    ca_file).  clusters: vCenter cluster names (one pool each).
    backend_options: more ``name: value`` lines for the backend section.
    database_url: Cinder's database (default: a SQLite file in workdir).
    coordination_url: tooz URL for ``[coordination] backend_url`` (default:
    Cinder's, file locks under state_path: one machine only).
    overrides: {section: {name: value}} replacing or adding options.
    """
    sections = [
        ('DEFAULT', [
            ('host', host),
            ('enabled_backends', BACKEND),
            ('auth_strategy', 'noauth'),
            ('transport_url', transport_url),
            ('state_path', os.path.join(workdir, 'state')),
            ('log_dir', os.path.join(workdir, 'logs')),
            ('debug', 'true'),
            ('api_paste_config', api_paste_config()),
            ('osapi_volume_listen', '127.0.0.1'),
            ('osapi_volume_listen_port', str(api_port)),
            ('osapi_volume_workers', '1'),
            ('scheduler_default_filters', ','.join(SCHEDULER_FILTERS)),
            ('scheduler_default_weighers', ','.join(SCHEDULER_WEIGHERS)),
            # Volumes do not come from images here: no Glance.
            ('glance_api_servers', 'http://127.0.0.1:1'),
            # Fewer heartbeat writes to the shared SQLite file; a service
            # is down after service_down_time without one.
            ('report_interval', '30'),
            ('service_down_time', '120'),
            # A lab: no quotas, so that capacity limits are the storage's.
            ('quota_volumes', '-1'),
            ('quota_snapshots', '-1'),
            ('quota_gigabytes', '-1'),
        ]),
        ('database', [
            # Three services share the file: wait for its lock rather than
            # fail with "database is locked".
            ('connection', database_url or 'sqlite:///%s?timeout=30' % (
                os.path.join(workdir, 'cinder.sqlite'))),
        ]),
    ]
    if coordination_url:
        sections.append(('coordination', [('backend_url', coordination_url)]))
    sections += [
        ('oslo_concurrency', [
            ('lock_path', os.path.join(workdir, 'locks')),
        ]),
        ('oslo_messaging_rabbit', [
            # One broker, no TLS; keep reconnects quick at start-up.
            ('rabbit_retry_interval', '1'),
        ]),
        (BACKEND, backend_section(vcenter, clusters, backend_options)),
    ]
    for section, options in (overrides or {}).items():
        items = dict(sections).get(section)
        if items is None:
            items = []
            sections.append((section, items))
        items[:] = [(k, v) for k, v in items if k not in options]
        items += sorted(options.items())
    return ''.join(_section(name, items) for name, items in sections)


def backend_section(vcenter, clusters, backend_options=None):
    items = [
        ('volume_driver', DRIVER),
        ('volume_backend_name', BACKEND),
        ('vmware_host_ip', vcenter['host']),
        ('vmware_host_port', str(vcenter['port'])),
        ('vmware_host_username', vcenter['username']),
        ('vmware_host_password', vcenter['password']),
        # Certificate verified against the simulator's CA.
        ('vmware_ca_file', vcenter['ca_file']),
        ('vmware_insecure', 'false'),
        ('vmware_task_poll_interval', '0.2'),
        ('vmware_api_retry_count', '3'),
    ]
    # vmware_cluster_name is a MultiStrOpt: one line per cluster.
    items += [('vmware_cluster_name', name) for name in clusters]
    items += sorted((backend_options or {}).items())
    return items


def _section(name, items):
    lines = ['[%s]' % name] + ['%s = %s' % (k, v) for k, v in items]
    return '\n'.join(lines) + '\n\n'
