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
"""The devstack plugin, run without devstack.

A small harness runs the plugin's files in stack.sh's order with the
devstack functions it calls, written from devstack's documented contract
(doc/source/plugins.rst, inc/ini-config, lib/cinder): local.conf's
variables, the plugin's override-defaults, lib/cinder's default of
CINDER_ENABLED_BACKENDS, the plugin's settings, the plugin's phases
(pre-install, install), lib/cinder's configure_cinder (a
configure_cinder_backend_TYPE NAME call for each TYPE:NAME entry, then
enabled_backends and default_volume_type) and create_volume_types, then
the post-config, extra and test-config phases. iniset/iniget go through
Debian's crudini; cinder.conf and tempest.conf are read back with
oslo.config.
"""

import os
import subprocess

from cinder.volume.drivers.vmware import vmdk
from oslo_config import cfg

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVSTACK = os.path.join(REPO, 'devstack')

# devstack's functions, as far as the plugin and the harness use them.
FUNCTIONS = r'''
is_service_enabled() {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
    done
    return 1
}
echo_summary() { echo "summary: $*"; }
die() { shift; echo "die: $*" >&2; exit 1; }
deprecated() { echo "WARNING: $*" >&2; }
setup_develop() { echo "setup_develop $*" >> "$CALLS"; }
pip_install() { echo "pip_install $*" >> "$CALLS"; }
iniset() { crudini --set "$1" "$2" "$3" "$4"; }
iniget() { crudini --get "$1" "$2" "$3" 2>/dev/null || true; }
inidelete() { crudini --del "$1" "$2" "$3"; }
iniset_multiline() {
    local file=$1 section=$2 option=$3 prev
    local range="/^\[$section\]/,/^\[/"
    shift 3
    crudini --del "$file" "$section" "$option"
    crudini --set "$file" "$section" "$option" "$1"
    prev=$1
    shift
    for value in "$@"; do
        sed -i "$range s|^$option = $prev\$|&\n$option = $value|" "$file"
        prev=$value
    done
}
configure_cinder_backend_lvm() {
    iniset "$CINDER_CONF" "$1" volume_driver \
        cinder.volume.drivers.lvm.LVMVolumeDriver
    iniset "$CINDER_CONF" "$1" volume_backend_name "$1"
    echo "lvm set up for $1" >> "$CALLS"
}
# lib/cinder's configure_cinder, its part for CINDER_ENABLED_BACKENDS.
configure_cinder_backends() {
    local be be_type be_name enabled_backends="" default_name=""
    for be in ${CINDER_ENABLED_BACKENDS//,/ }; do
        be_type=${be%%:*}
        be_name=${be##*:}
        if type "configure_cinder_backend_${be_type}" >/dev/null 2>&1; then
            "configure_cinder_backend_${be_type}" "$be_name"
        fi
        [[ -n "$default_name" ]] || default_name=$be_name
        enabled_backends+=$be_name,
    done
    iniset "$CINDER_CONF" DEFAULT enabled_backends "${enabled_backends%,*}"
    [[ -z "$default_name" ]] ||
        iniset "$CINDER_CONF" DEFAULT default_volume_type "$default_name"
}
# lib/cinder's create_volume_types.
create_volume_types() {
    local be be_name
    for be in ${CINDER_ENABLED_BACKENDS//,/ }; do
        be_name=${be##*:}
        echo "volume type create $be_name" \
            "volume_backend_name=$be_name" >> "$CALLS"
    done
}
'''

PHASES = r'''
source {d}/override-defaults
CINDER_ENABLED_BACKENDS=${{CINDER_ENABLED_BACKENDS:-lvm:lvmdriver-1}}
source {d}/settings
source {d}/plugin.sh stack pre-install
source {d}/plugin.sh stack install
configure_cinder_backends
source {d}/plugin.sh stack post-config
create_volume_types
source {d}/plugin.sh stack extra
source {d}/plugin.sh stack test-config
'''


def run_stack(tmp_path, repeat=1, **variables):
    conf = tmp_path / 'cinder.conf'
    conf.write_text('[DEFAULT]\n')
    tempest = tmp_path / 'tempest.conf'
    tempest.write_text('[DEFAULT]\n')
    calls = tmp_path / 'calls'
    calls.write_text('')
    env = {'PATH': os.environ['PATH'], 'DEST': str(tmp_path),
           'CINDER_CONF': str(conf), 'TEMPEST_CONFIG': str(tempest),
           'CALLS': str(calls),
           'ENABLED_SERVICES': 'c-api,c-sch,c-vol,tempest'}
    env.update(variables)
    if env.get('VMWAREAPI_CA_FILE') == CA_FILE:
        ca = tmp_path / 'vc-ca.pem'
        ca.write_text('-----BEGIN CERTIFICATE-----\n')
        env['VMWAREAPI_CA_FILE'] = str(ca)
    script = FUNCTIONS + PHASES.format(d=DEVSTACK) * repeat
    done = subprocess.run(['bash', '-e', '-u', '-c', script], env=env,
                          capture_output=True, text=True, timeout=60)
    return done, conf, tempest, calls.read_text()


def read_conf(path, backend):
    conf = cfg.ConfigOpts()
    conf.register_opts([
        cfg.ListOpt('enabled_backends'),
        cfg.StrOpt('default_volume_type'),
        cfg.ListOpt('scheduler_default_filters'),
        cfg.ListOpt('scheduler_default_weighers')])
    backend_opts = vmdk.vmdk_opts + [cfg.StrOpt('volume_driver'),
                                     cfg.StrOpt('volume_backend_name'),
                                     cfg.StrOpt('vmware_pool_mode')]
    conf.register_opts(backend_opts, group=backend)
    conf(['--config-file', str(path)], project='cinder',
         default_config_files=[], default_config_dirs=[])
    return conf


def read_tempest(path):
    conf = cfg.ConfigOpts()
    feature_opts = [cfg.BoolOpt(name) for name in (
        'manage_volume', 'manage_snapshot', 'extend_attached_volume')]
    conf.register_opts(feature_opts, group='volume-feature-enabled')
    volume_opts = [cfg.StrOpt('storage_protocol'), cfg.StrOpt('vendor_name')]
    conf.register_opts(volume_opts, group='volume')
    conf(['--config-file', str(path)], project='tempest',
         default_config_files=[], default_config_dirs=[])
    return conf


CA_FILE = '<ca file>'
LOCAL_CONF = {
    'VMWAREAPI_IP': 'vc.example.org',
    'VMWAREAPI_PASSWORD': 's3cret',
    'VMWARE_CLUSTER_NAMES': 'gold,silver',
    # A readable CA bundle (run_stack writes it): the plugin refuses one
    # it cannot read.
    'VMWAREAPI_CA_FILE': CA_FILE,
}
DRIVER = 'cinder_vmware_ext.driver.VMwareVcVmdkExtDriver'


def test_backend_through_cinder_enabled_backends(tmp_path):
    done, conf_file, tempest_file, calls = run_stack(tmp_path, **LOCAL_CONF)
    assert done.returncode == 0, done.stderr

    conf = read_conf(conf_file, 'vmware-1')
    backend = conf['vmware-1']
    # Ours alone: no LVM, our volume type is created and the default.
    assert conf.enabled_backends == ['vmware-1']
    assert conf.default_volume_type == 'vmware-1'
    assert 'lvm set up' not in calls
    assert 'volume type create vmware-1 volume_backend_name=vmware-1' \
        in calls
    assert backend.volume_driver == DRIVER
    assert backend.volume_backend_name == 'vmware-1'
    assert backend.vmware_host_ip == 'vc.example.org'
    assert backend.vmware_host_port == 443
    assert backend.vmware_host_username == 'administrator@vsphere.local'
    assert backend.vmware_host_password == 's3cret'
    assert backend.vmware_ca_file == str(tmp_path / 'vc-ca.pem')
    assert backend.vmware_insecure is False
    assert backend.vmware_cluster_name == ['gold', 'silver']
    assert backend.vmware_pool_mode == 'cluster'
    assert 'DriverFilter' in conf.scheduler_default_filters
    assert 'CapabilitiesFilter' in conf.scheduler_default_filters
    assert 'GoodnessWeigher' in conf.scheduler_default_weighers
    assert 'setup_develop %s/cinder-vmware-ext' % tmp_path in calls
    assert 'pip_install pyparsing!=3.3.3' in calls

    tempest = read_tempest(tempest_file)
    features = tempest['volume-feature-enabled']
    assert features.manage_volume and features.manage_snapshot
    assert features.extend_attached_volume
    assert tempest.volume.storage_protocol == 'vmdk'


def test_next_to_backends_local_conf_names(tmp_path):
    done, conf_file, _tempest, calls = run_stack(
        tmp_path, CINDER_ENABLED_BACKENDS='lvm:lvmdriver-1',
        CINDER_VMWARE_BACKEND='vc-gold', **LOCAL_CONF)
    assert done.returncode == 0, done.stderr
    conf = read_conf(conf_file, 'vc-gold')
    assert conf.enabled_backends == ['lvmdriver-1', 'vc-gold']
    assert conf.default_volume_type == 'lvmdriver-1'
    assert conf['vc-gold'].volume_driver == DRIVER
    assert 'volume type create vc-gold volume_backend_name=vc-gold' in calls


def test_vmware_ext_entry_of_local_conf_is_not_doubled(tmp_path):
    done, conf_file, _tempest, _calls = run_stack(
        tmp_path, CINDER_ENABLED_BACKENDS='vmware_ext:vmware-a', **LOCAL_CONF)
    assert done.returncode == 0, done.stderr
    assert read_conf(conf_file, 'vmware-a').enabled_backends == ['vmware-a']


def test_stack_twice_keeps_one_backend_and_filter(tmp_path):
    done, conf_file, _tempest, _calls = run_stack(tmp_path, repeat=2,
                                                  **LOCAL_CONF)
    assert done.returncode == 0, done.stderr
    conf = read_conf(conf_file, 'vmware-1')
    assert conf.enabled_backends == ['vmware-1']
    assert conf.scheduler_default_filters.count('DriverFilter') == 1
    assert conf['vmware-1'].vmware_cluster_name == ['gold', 'silver']


def test_deprecated_vmware_vcenter_variables_still_work(tmp_path):
    done, conf_file, _tempest, _calls = run_stack(
        tmp_path, VMWARE_VCENTER_HOST='old.example.org',
        VMWARE_VCENTER_PASSWORD='old', VMWARE_CLUSTER_NAMES='gold')
    assert done.returncode == 0, done.stderr
    assert 'VMWARE_VCENTER_HOST is deprecated, set VMWAREAPI_IP' in \
        done.stderr
    backend = read_conf(conf_file, 'vmware-1')['vmware-1']
    assert backend.vmware_host_ip == 'old.example.org'
    assert backend.vmware_host_password == 'old'


def test_no_ca_file_keeps_verification_on(tmp_path):
    local = dict(LOCAL_CONF, VMWAREAPI_CA_FILE='')
    done, conf_file, _tempest, _calls = run_stack(tmp_path, **local)
    assert done.returncode == 0, done.stderr
    backend = read_conf(conf_file, 'vmware-1')['vmware-1']
    assert backend.vmware_insecure is False
    assert backend.vmware_ca_file is None


def test_verification_off_only_when_asked(tmp_path):
    local = dict(LOCAL_CONF, VMWAREAPI_INSECURE='True', VMWAREAPI_CA_FILE='')
    done, conf_file, _tempest, _calls = run_stack(tmp_path, **local)
    assert done.returncode == 0, done.stderr
    backend = read_conf(conf_file, 'vmware-1')['vmware-1']
    assert backend.vmware_insecure is True
    assert backend.vmware_ca_file is None


def test_insecure_with_a_ca_file_is_refused(tmp_path):
    local = dict(LOCAL_CONF, VMWAREAPI_INSECURE='True')
    done, _conf, _tempest, _calls = run_stack(tmp_path, **local)
    assert done.returncode != 0
    assert 'VMWAREAPI_INSECURE' in done.stderr
    assert str(tmp_path / 'vc-ca.pem') in done.stderr


def test_unreadable_ca_file_is_refused(tmp_path):
    missing = str(tmp_path / 'no-such-ca.pem')
    local = dict(LOCAL_CONF, VMWAREAPI_CA_FILE=missing)
    done, _conf, _tempest, _calls = run_stack(tmp_path, **local)
    assert done.returncode != 0
    assert missing in done.stderr and 'not a readable file' in done.stderr


def test_missing_vcenter_stops_the_stack_with_a_message(tmp_path):
    done, _conf, _tempest, _calls = run_stack(
        tmp_path, VMWARE_CLUSTER_NAMES='gold')
    assert done.returncode != 0
    assert 'VMWAREAPI_IP' in done.stderr


def test_shellcheck_passes():
    done = subprocess.run(
        ['shellcheck', '-s', 'bash', 'plugin.sh', 'settings',
         'override-defaults'],
        cwd=DEVSTACK, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
