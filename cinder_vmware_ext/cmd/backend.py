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
"""The VMware backend as the driver sees it, read from cinder.conf.

The backend section is loaded as cinder-volume loads it: Cinder's options
on ``cfg.CONF``, the section read through
``cinder.volume.configuration.Configuration`` (so ``[backend_defaults]``
fills what the section leaves unset) with the option lists the driver
appends, and the service host ``backend_host`` or ``[DEFAULT] host``.
Discovery then sees the same vCenter, clusters and datastore filters as
cinder-volume does.
"""

import logging
import os

from oslo_config import cfg

from cinder_vmware_ext.cmd import redact

LOG = logging.getLogger(__name__)

DEFAULT_CONFIG = '/etc/cinder/cinder.conf'


class BackendError(Exception):
    """A configuration or vCenter problem the operator has to fix."""


def _option_lists():
    """List the option sets a VMware backend's Configuration holds.

    What a VMware backend's Configuration holds in cinder-volume: the
    generic volume options and those the driver classes append.
    """
    from cinder.volume import driver
    from cinder.volume.drivers.vmware import vmdk
    from cinder_vmware_ext import opts
    return driver.volume_opts + vmdk.vmdk_opts + opts.vmware_ext_opts


def load(config_files, backend=None, host=None, trace_soap=False):
    """(Configuration, host@backend) for the chosen backend section."""
    from cinder.common import config  # noqa: F401 (Cinder's own options)
    from cinder.volume import configuration
    redact.guard_logging(trace_soap)
    files = config_files or [DEFAULT_CONFIG]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise BackendError('config file(s) not found: %s; give '
                           '--config-file' % ', '.join(missing))
    conf = cfg.CONF
    try:
        conf([], project='cinder', default_config_files=files,
             default_config_dirs=[])
    except cfg.Error as err:
        raise BackendError('%s: %s' % (', '.join(files), err))
    sections = conf.list_all_sections()
    backend = backend or _only_backend(conf, files)
    if backend not in sections or backend == 'DEFAULT':
        raise BackendError(
            'no backend section [%s] in %s (enabled_backends: %s); give '
            '--backend one of them' % (backend, ', '.join(files),
                                       ', '.join(conf.enabled_backends or
                                                 []) or 'none'))
    if backend not in (conf.enabled_backends or []):
        LOG.warning('backend [%s] is not in enabled_backends (%s): no '
                    'cinder-volume serves it', backend,
                    ', '.join(conf.enabled_backends or []) or 'empty')
    section = configuration.Configuration(_option_lists(),
                                          config_group=backend)
    conf.register_opt(cfg.StrOpt('backend_host'), group=backend)
    name = host or conf[backend].backend_host or conf.host
    redact.add_secret(section.vmware_host_password)
    return section, '%s@%s' % (name, backend)


CLUSTER_OPT = cfg.StrOpt(
    'cluster',
    help='Name of the Cinder cluster cinder-volume runs in (its own '
         '[DEFAULT] option, read here to know which volumes the backend '
         'serves).')


def cluster():
    """cinder-volume's [DEFAULT] cluster of the loaded files, or None."""
    try:
        cfg.CONF.register_opt(CLUSTER_OPT)
    except cfg.DuplicateOptError:   # cinder.cmd.volume registered its own
        pass
    return cfg.CONF.cluster


def _only_backend(conf, files):
    backends = [b for b in conf.enabled_backends or [] if b]
    if len(backends) == 1:
        return backends[0]
    raise BackendError('give --backend: enabled_backends in %s is %s'
                       % (', '.join(files), ', '.join(backends) or 'empty'))


def session(section):
    """Open an oslo.vmware session to the section's vCenter.

    An oslo.vmware session to the section's vCenter; a BackendError
    naming host:port and the cause when it cannot be had.
    """
    from oslo_vmware import api
    address = '%s:%s' % (section.vmware_host_ip, section.vmware_host_port)
    if not section.vmware_host_ip:
        raise BackendError('vmware_host_ip is set neither in backend '
                           'section [%s] nor in [backend_defaults]'
                           % section.config_group)
    try:
        vim_session = api.VMwareAPISession(
            section.vmware_host_ip, section.vmware_host_username,
            section.vmware_host_password, section.vmware_api_retry_count,
            section.vmware_task_poll_interval,
            port=section.vmware_host_port,
            cacert=section.vmware_ca_file,
            insecure=section.vmware_insecure if not section.vmware_ca_file
            else False)
    except Exception as err:
        raise BackendError('vCenter %s (backend [%s]): %s' % (
            address, section.config_group, root_cause(err)))
    redact.add_secret(getattr(vim_session, '_session_id', None))
    try:
        redact.add_secret(vim_session.vim.get_http_cookie())
    except Exception:  # no cookie is nothing to hide
        pass
    return vim_session


def root_cause(err):
    """Return the innermost error of a chain as one line.

    The innermost error of a chain (what really went wrong: connection
    refused, certificate verify failed, incorrect user name or password),
    as one line.
    """
    seen = set()
    while id(err) not in seen:
        seen.add(id(err))
        inner = err.__cause__ or err.__context__
        if inner is None:
            break
        err = inner
    text = str(err).strip() or err.__class__.__name__
    return ' '.join(text.split())


def pool_service(section, vim_session):
    from cinder_vmware_ext import pool_service
    from cinder_vmware_ext.vsphere import inventory
    return pool_service.PoolService(
        inventory.InventoryCache(vim_session),
        mode=section.vmware_pool_mode,
        cluster_names=section.vmware_cluster_name,
        rules=pool_service.rules_from_config(section),
        policy=section.vmware_placement_policy,
        vcenter_id=section.vmware_host_ip)
