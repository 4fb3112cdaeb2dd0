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
"""Build the real driver, real Cinder objects and independent inventory reads.

Used by the functional tests (through the pytest fixtures at the bottom) and
by tools/demo_lifecycle.py.  Nothing here patches the driver: it gets a real
``cinder.volume.configuration.Configuration`` for its backend section, a
real Cinder database (SQLite, schema from Cinder's own migrations) for its
volume types, volumes and snapshots, and talks SOAP to the simulator over
HTTPS with the simulator's certificate verified.

``Inventory`` reads the simulator through a separate oslo.vmware session, so
tests check the driver's effects with reads the driver did not make.
"""

import contextlib
import itertools
import os
import re

from oslo_config import cfg
from oslo_utils import units

from tests import vmdk

_counter = itertools.count(1)
_db_ready = None


# --- Cinder's database and objects ----------------------------------------

def init_cinder(state_dir, connection=None):
    """Parse Cinder's config and create its database, once.

    Parse Cinder's config (no files) and create a SQLite database (or
    the schema in the empty database at SQLAlchemy URL ``connection``).

    Idempotent within a process: the first call's database is kept.
    """
    global _db_ready
    if _db_ready:
        return _db_ready
    from cinder import objects
    objects.register_all()
    from cinder.common import config  # noqa: F401 (registers Cinder's opts)
    from cinder import coordination  # noqa: F401 (registers [coordination])
    from cinder.db import migration
    import logging
    for name in ('alembic', 'cinder.db.migration'):
        logging.getLogger(name).setLevel(logging.WARNING)

    conf = cfg.CONF
    conf([], project='cinder', default_config_files=[],
         default_config_dirs=[])
    path = os.path.join(state_dir, 'cinder.sqlite')
    conf.set_override('connection', connection or 'sqlite:///' + path,
                      group='database')
    conf.set_override('lock_path', state_dir, group='oslo_concurrency')
    # The driver takes its placement lock through cinder.coordination: a
    # default (file locks in the state directory) that the `coordination`
    # fixture overrides with etcd.
    conf.set_default('backend_url', 'file://' + state_dir,
                     group='coordination')
    migration.db_sync()
    _db_ready = path
    return path


def admin_context():
    from cinder import context
    return context.get_admin_context()


def volume_type(ctx, **extra_specs):
    """A new volume type with the given ``vmware:*`` extra specs."""
    from cinder.volume import volume_types
    specs = {'vmware:%s' % k: v for k, v in extra_specs.items()}
    name = 'type-%d' % next(_counter)
    return volume_types.create(ctx, name, specs)['id']


# A host's first attach (no os-brick properties): it makes a lazily
# created volume's backing.
FIRST_ATTACH = {'host': 'compute-1', 'ip': '192.0.2.20'}


def first_attach(driver, volume, connector=FIRST_ATTACH):
    """Attach and detach ``volume`` once, as a host's first attach does.

    With lazy create (the default) this makes the volume's backing.
    """
    driver.initialize_connection(volume, connector)
    driver.terminate_connection(volume, connector)


def new_volume(ctx, size=1, type_id=None, project_id='demo-project',
               status='available', **kwargs):
    from cinder import objects
    if type_id is None:
        type_id = volume_type(ctx)
    vol = objects.Volume(ctx, size=size, volume_type_id=type_id,
                         project_id=project_id, user_id='demo-user',
                         status=status, display_name='vol-%d' % next(_counter),
                         attach_status='detached', **kwargs)
    vol.create()
    return objects.Volume.get_by_id(ctx, vol.id)


def new_snapshot(ctx, volume):
    from cinder import objects
    snap = objects.Snapshot(ctx, volume_id=volume.id, volume_size=volume.size,
                            volume_type_id=volume.volume_type_id,
                            project_id=volume.project_id,
                            user_id=volume.user_id, status='creating',
                            display_name='snap-%d' % next(_counter),
                            display_description='functional test')
    snap.create()
    return objects.Snapshot.get_by_id(ctx, snap.id)


# --- The driver --------------------------------------------------------------

def backend_options(sim, **overrides):
    """Options of a backend section pointing at a running simulator."""
    opts = dict(
        volume_backend_name='vmware-functional',
        vmware_host_ip=sim.host,
        vmware_host_port=sim.port,
        vmware_host_username=sim.username,
        vmware_host_password=sim.password,
        vmware_ca_file=sim.ca_file,
        vmware_insecure=False,
        vmware_cluster_name=['gold'],
        vmware_volume_folder='Volumes',
        vmware_task_poll_interval=0.05,
        vmware_api_retry_count=2,
        vmware_enable_volume_stats=True,
        # The product's default: the backing is made at first attach.
        vmware_lazy_create=True,
        vmware_snapshot_format='COW',
    )
    opts.update(overrides)
    return opts


def write_cinder_conf(sim, path, host='functional', **overrides):
    """Write a cinder.conf whose one backend, [vmware], points at ``sim``.

    ``host`` is the service's (volumes then live on ``host@vmware#pool``);
    ``overrides`` as for ``backend_options``.  Returns the path, as a str.
    """
    lines = ['[DEFAULT]', 'enabled_backends = vmware', 'host = %s' % host,
             '', '[vmware]']
    for name, value in backend_options(sim, **overrides).items():
        # A MultiStrOpt (vmware_cluster_name): one line per value.
        for item in value if isinstance(value, list) else [value]:
            lines.append('%s = %s' % (name, item))
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def make_configuration(options):
    """A real Configuration for a new backend section holding ``options``."""
    from cinder.volume import configuration
    from cinder.volume import driver
    from cinder.volume.drivers.vmware import vmdk
    from cinder_vmware_ext import opts
    group = 'vmware-functional-%d' % next(_counter)
    # As cinder-volume does for a backend section: the generic volume
    # options first, then the driver appends its own (again, harmlessly).
    config = configuration.Configuration(
        driver.volume_opts + vmdk.vmdk_opts + opts.vmware_ext_opts,
        config_group=group)
    for name, value in options.items():
        cfg.CONF.set_override(name, value, group=group)
    return config, group


def make_driver(sim, **overrides):
    """``VMwareVcVmdkExtDriver`` set up against ``sim`` (do_setup done)."""
    from cinder import db
    from cinder_vmware_ext import driver
    config, group = make_configuration(backend_options(sim, **overrides))
    drv = driver.VMwareVcVmdkExtDriver(configuration=config, db=db,
                                       host='functional@vmware')
    drv.do_setup(admin_context())
    drv.check_for_setup_error()
    drv.conf_group = group
    return drv


def close_driver(drv):
    for name in list(backend_options_names()):
        try:
            cfg.CONF.clear_override(name, group=drv.conf_group)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            pass
    if drv.session is not None:
        try:
            drv.session.logout()
        except Exception:  # the simulator may be gone already
            pass


@contextlib.contextmanager
def drivers(sim, **defaults):
    """Give a factory of drivers against the simulator.

    A ``make(**options)`` building drivers against ``sim`` (``defaults``
    under ``options``), every one closed on exit.
    """
    made = []

    def make(**options):
        for name, value in defaults.items():
            options.setdefault(name, value)
        drv = make_driver(sim, **options)
        made.append(drv)
        return drv
    try:
        yield make
    finally:
        for drv in made:
            close_driver(drv)


@contextlib.contextmanager
def backends(sim, **defaults):
    """Give one set-up driver per distinct backend configuration.

    ``get(**options)`` (``defaults`` under ``options``) builds a driver
    against ``sim`` the first time a configuration is asked for, so a
    module's tests share it; all are closed on exit.
    """
    made = {}

    def get(**options):
        options = dict(defaults, **options)
        key = repr(sorted(backend_options(sim, **options).items()))
        if key not in made:
            made[key] = make_driver(sim, **options)
        return made[key]
    try:
        yield get
    finally:
        for drv in made.values():
            close_driver(drv)


def pools_by_name(drv):
    """{pool name: pool stats} of a fresh stats refresh."""
    stats = drv.get_volume_stats(refresh=True)
    return {p['pool_name']: p for p in stats['pools']}


def backend_options_names():
    from cinder.volume.drivers.vmware import vmdk
    from cinder_vmware_ext import opts
    return ['volume_backend_name'] + [o.name for o in vmdk.vmdk_opts] + \
        [o.name for o in opts.vmware_ext_opts]


# --- Independent reads of the simulator --------------------------------------

def array(value, item_type):
    """Items of a SOAP ArrayOfX property value (empty for unset)."""
    if not value:
        return []
    if hasattr(value, item_type):
        value = getattr(value, item_type)
    return list(value) if isinstance(value, (list, tuple)) else [value]


DS_PATH = re.compile(r'^\[(?P<ds>[^\]]+)\] ?(?P<path>.*)$')


_VIM = 'urn:vim25'
_XSI = '{http://www.w3.org/2001/XMLSchema-instance}type'
_PROPS = {
    'VirtualMachine': ('name', 'config.template', 'config.hardware.device',
                       'snapshot', 'runtime.powerState'),
    'Folder': ('name', 'parent'),
}


class RawListing(object):
    """Read every VM and folder without suds.

    Every VM and folder in one RetrievePropertiesEx each, posted and
    parsed without suds (which takes seconds for a few hundred VMs' device
    lists), on the inventory session's cookie.
    """

    def __init__(self, inv):
        import ssl
        self.inv = inv
        self.url = 'https://%s:%s/sdk' % (inv.sim.host, inv.sim.port)
        self.ssl = ssl.create_default_context(cafile=inv.sim.ca_file)
        self.views = {}

    def _view(self, type_):
        if type_ not in self.views:
            session = self.inv.session
            content = session.vim.service_content
            view = session.invoke_api(
                session.vim, 'CreateContainerView', content.viewManager,
                container=content.rootFolder, type=[type_], recursive=True)
            self.views[type_] = view.value
        return self.views[type_]

    def _post(self, body):
        import urllib.request
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>' % body)
        cookie = self.inv.session.vim.get_http_cookie()
        req = urllib.request.Request(self.url, data=envelope.encode(),
                                     headers={
            'Content-Type': 'text/xml; charset=utf-8',
            'SOAPAction': 'urn:vim25/7.0',
            'Cookie': 'vmware_soap_session="%s"' % cookie})
        with urllib.request.urlopen(req, context=self.ssl,
                                    timeout=60) as resp:
            return resp.read()

    def objects(self, type_):
        import xml.etree.ElementTree as ET
        view = self._view(type_)
        paths = ''.join('<pathSet>%s</pathSet>' % p for p in _PROPS[type_])
        body = (
            '<RetrievePropertiesEx xmlns="%s"><_this type="PropertyCollector"'
            '>propertyCollector</_this><specSet><propSet><type>%s</type>%s'
            '</propSet><objectSet><obj type="ContainerView">%s</obj>'
            '<skip>true</skip><selectSet xsi:type="TraversalSpec"><name>v'
            '</name><type>ContainerView</type><path>view</path><skip>false'
            '</skip></selectSet></objectSet></specSet><options>'
            '<maxObjects>100000</maxObjects></options>'
            '</RetrievePropertiesEx>' % (_VIM, type_, paths, view))
        while body:
            root = ET.fromstring(self._post(body))
            returnval = root.find('.//{%s}returnval' % _VIM)
            if returnval is None:
                fault = root.find('.//faultstring')
                if fault is not None:
                    raise RuntimeError('RetrievePropertiesEx: %s'
                                       % fault.text)
                return
            for obj in returnval.findall('{%s}objects' % _VIM):
                yield _values(obj)
            token = returnval.find('{%s}token' % _VIM)
            body = token is not None and (
                '<ContinueRetrievePropertiesEx xmlns="%s"><_this type='
                '"PropertyCollector">propertyCollector</_this><token>%s'
                '</token></ContinueRetrievePropertiesEx>' % (_VIM,
                                                             token.text))


def _values(obj):
    v = '{%s}' % _VIM
    out = {'_ref': obj.find(v + 'obj').text, 'name': None, 'parent': None,
           'template': False, 'disks': [], 'snapshots': [],
           'powered_on': False}
    for prop in obj.findall(v + 'propSet'):
        name, val = prop.find(v + 'name').text, prop.find(v + 'val')
        if val is None:
            continue
        if name == 'name':
            out['name'] = val.text
        elif name == 'parent':
            out['parent'] = val.text
        elif name == 'runtime.powerState':
            out['powered_on'] = val.text == 'poweredOn'
        elif name == 'config.template':
            out['template'] = val.text == 'true'
        elif name == 'config.hardware.device':
            for dev in val.findall(v + 'VirtualDevice'):
                if dev.get(_XSI, '').endswith('VirtualDisk'):
                    out['disks'].append(dev.find(
                        v + 'backing/' + v + 'fileName').text)
        elif name == 'snapshot':
            for tree in val.iter():
                if tree.tag in (v + 'rootSnapshotList',
                                v + 'childSnapshotList'):
                    out['snapshots'].append(tree.find(v + 'name').text)
    return out


class Inventory(object):
    """Reads of the simulator's inventory and files, not via the driver.

    ``Inventory(sim)`` logs in a session of its own (``close`` logs it
    out); ``Inventory(session=s)`` reads through a session the caller
    holds (the e2e tests' ``vsphere``), which ``close`` leaves open.
    """

    def __init__(self, sim=None, session=None):
        from oslo_vmware import vim_util
        self.sim = sim
        self._owned = session is None
        self.session = sim.session() if session is None else session
        self.vim_util = vim_util
        self._listing = None

    def close(self):
        if not self._owned:
            return
        try:
            self.session.logout()
        except Exception:
            pass

    # inventory
    def objects(self, type_, *props):
        """{moref value: {prop: value}} for all objects of a type."""
        vim = self.session.vim
        result = self.session.invoke_api(
            self.vim_util, 'get_objects', vim, type_, 100,
            list(props) or ['name'])
        out = {}
        with self.vim_util.WithRetrieval(vim, result) as objs:
            for obj in objs:
                values = {p.name: p.val for p in getattr(obj, 'propSet', [])}
                values['_ref'] = obj.obj
                out[self.vim_util.get_moref_value(obj.obj)] = values
        return out

    def listing(self, type_):
        """A dict of each VM's or folder's names, disks and snapshots.

        Every VirtualMachine or Folder in one paged pass read without suds
        (``RawListing``), for the captures of the fault matrix; needs the
        simulator (``Inventory(sim)``).
        """
        if self._listing is None:
            self._listing = RawListing(self)
        return self._listing.objects(type_)

    def by_name(self, type_, name):
        found = [v['_ref'] for v in self.objects(type_, 'name').values()
                 if v.get('name') == name]
        assert len(found) <= 1, (type_, name, found)
        return found[0] if found else None

    def vm(self, name):
        return self.by_name('VirtualMachine', name)

    def vm_names(self):
        return sorted(v.get('name') for v in
                      self.objects('VirtualMachine', 'name').values())

    def prop(self, ref, name):
        return self.session.invoke_api(self.vim_util, 'get_object_property',
                                       self.session.vim, ref, name)

    def props(self, ref, *names):
        return {n: self.prop(ref, n) for n in names}

    def disks(self, vm):
        devices = array(self.prop(vm, 'config.hardware.device'),
                        'VirtualDevice')
        return [d for d in devices if d.__class__.__name__ == 'VirtualDisk']

    def disk(self, vm):
        disks = self.disks(vm)
        assert len(disks) == 1, disks
        return disks[0]

    def extra_config(self, vm):
        opts = array(self.prop(vm, 'config.extraConfig'), 'OptionValue')
        return {o.key: o.value for o in opts}

    def name_of(self, ref):
        return self.prop(ref, 'name')

    def inventory_path(self, ref):
        """'DC1/vm/OpenStack/...' as SearchIndex.FindByInventoryPath takes."""
        parts = []
        while ref is not None:
            parts.append(self.name_of(ref))
            if ref._type == 'Datacenter':
                break
            ref = self.prop(ref, 'parent')
        return '/'.join(reversed(parts))

    def datastore(self, name):
        ref = self.by_name('Datastore', name)
        assert ref is not None, name
        return ref

    def summary(self, ds_name):
        return self.prop(self.datastore(ds_name), 'summary')

    def snapshot_names(self, vm):
        snap = self.prop(vm, 'snapshot')
        names = []

        def walk(trees):
            for t in trees or []:
                names.append(t.name)
                walk(getattr(t, 'childSnapshotList', None))
        if snap is not None:
            walk(getattr(snap, 'rootSnapshotList', None))
        return names

    # files
    def local_path(self, ds_path):
        m = DS_PATH.match(ds_path)
        assert m, ds_path
        return self.sim.datastore_path(m.group('ds'), m.group('path'))


# --- VMDK files on the simulator's datastores --------------------------------

# One reader of the simulator's disk files: tests/vmdk.py. These keep the
# names (and the descriptor as a dict) the driver tests use.

def read_descriptor(path):
    """Parse the fields of a VMDK text descriptor.

    Fields of a VMDK text descriptor: {'extents': [(access, sectors,
    type, file)], key: value...} (``vmdk.read_descriptor``'s fields and
    ddb entries in one dict).
    """
    desc = vmdk.read_descriptor(path)
    return dict(desc.fields, extents=desc.extents, **desc.ddb)


def data_file(descriptor_path):
    """Local path of a disk's (first) data file."""
    desc = vmdk.read_descriptor(descriptor_path)
    assert desc.extents, descriptor_path
    return desc.data_path


def capacity_bytes(descriptor_path):
    return vmdk.read_descriptor(descriptor_path).capacity


def parent_path(descriptor_path, datastore_root):
    """Local path of a delta disk's parent descriptor, or None."""
    return vmdk.read_descriptor(descriptor_path).parent_path(datastore_root)


def disk_chain(descriptor_path, datastore_root):
    """This disk's descriptor, then its parents'."""
    return [d.path for d in vmdk.chain(descriptor_path, datastore_root)]


def write_data(descriptor_path, offset, data):
    """Write bytes into a disk's own data file (as a guest would)."""
    with open(data_file(descriptor_path), 'r+b') as f:
        f.seek(offset)
        f.write(data)


def read_data(descriptor_path, datastore_root, offset, length):
    """What a guest reads at ``offset``: a delta's data over its parent's."""
    return vmdk.read(descriptor_path, offset, length, datastore_root)


def pattern(seed, length=64 * units.Ki):
    import random
    return random.Random(seed).randbytes(length)
