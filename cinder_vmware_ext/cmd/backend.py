"""The VMware backend as the driver sees it, read from cinder.conf.

The tool reads the driver's own backend section, so discovery sees the
same vCenter, clusters and datastore filters as cinder-volume does.
"""

import os
import socket

from oslo_config import cfg

DEFAULT_CONFIG = '/etc/cinder/cinder.conf'


class Section(object):
    """A backend section with the driver configuration's ``safe_get``."""

    def __init__(self, conf, group):
        self._conf = conf
        self._group = group

    def safe_get(self, name):
        try:
            return getattr(self._conf[self._group], name)
        except (cfg.NoSuchOptError, AttributeError):
            return None

    def __getattr__(self, name):
        return getattr(self._conf[self._group], name)


def load(config_files, backend=None, host=None):
    """(Section, host@backend) for the chosen backend section."""
    from cinder.volume.drivers.vmware import vmdk
    from cinder_vmware_ext import opts
    files = config_files or [DEFAULT_CONFIG]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise SystemExit('config file(s) not found: %s' % ', '.join(missing))
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.ListOpt('enabled_backends', default=[]),
                        cfg.StrOpt('host')])
    conf([], project='cinder', default_config_files=files,
         default_config_dirs=[])
    backend = backend or _only_backend(conf)
    conf.register_opts(vmdk.vmdk_opts + opts.vmware_ext_opts +
                       [cfg.StrOpt('volume_backend_name')], group=backend)
    name = host or conf.host or socket.gethostname()
    return Section(conf, backend), '%s@%s' % (name, backend)


def _only_backend(conf):
    if len(conf.enabled_backends) == 1:
        return conf.enabled_backends[0]
    raise SystemExit('give --backend: enabled_backends is %r'
                     % (conf.enabled_backends,))


def session(section):
    """An oslo.vmware session to the section's vCenter."""
    from oslo_vmware import api
    return api.VMwareAPISession(
        section.vmware_host_ip, section.vmware_host_username,
        section.vmware_host_password, section.vmware_api_retry_count,
        section.vmware_task_poll_interval,
        port=section.vmware_host_port,
        cacert=section.vmware_ca_file,
        insecure=section.vmware_insecure if not section.vmware_ca_file
        else False)


def pool_service(section, vim_session):
    from cinder_vmware_ext import pooling
    from cinder_vmware_ext.vsphere import inventory
    return pooling.PoolService(
        inventory.InventoryCache(vim_session),
        mode=section.vmware_pool_mode,
        cluster_names=section.vmware_cluster_name,
        rules=pooling.rules_from_config(section),
        policy=section.vmware_placement_policy,
        vcenter_id=section.vmware_host_ip)
