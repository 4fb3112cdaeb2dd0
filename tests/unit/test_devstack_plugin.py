"""The devstack plugin, run without devstack: its stack phases run in bash
with devstack's functions stubbed (iniset/iniget through Debian's crudini)
and the cinder.conf they write is read back with oslo.config."""

import os
import subprocess

from oslo_config import cfg
import pytest

from cinder.volume.drivers.vmware import vmdk

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVSTACK = os.path.join(REPO, 'devstack')

# devstack's functions, as far as the plugin uses them.
STUBS = r'''
is_service_enabled() { return 0; }
echo_summary() { echo "summary: $*"; }
die() { shift; echo "die: $*" >&2; exit 1; }
setup_develop() { echo "setup_develop $*" >> "$CALLS"; }
pip_install() { echo "pip_install $*" >> "$CALLS"; }
iniset() { crudini --set "$1" "$2" "$3" "$4"; }
iniget() { crudini --get "$1" "$2" "$3" 2>/dev/null || true; }
inidelete() { crudini --del "$1" "$2" "$3"; }
# As devstack's functions-common defines it.
trueorfalse() {
    local default=$1 testval=${!2:-}
    case "$testval" in
        1 | [yY]es | YES | [tT]rue | TRUE) echo True ;;
        0 | [nN]o | NO | [fF]alse | FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}
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
'''


def run_plugin(tmp_path, cinder_conf_text, phases, **variables):
    conf = tmp_path / 'cinder.conf'
    conf.write_text(cinder_conf_text)
    calls = tmp_path / 'calls'
    calls.touch()
    env = {'PATH': os.environ['PATH'], 'DEST': str(tmp_path),
           'CINDER_CONF': str(conf), 'CALLS': str(calls)}
    env.update(variables)
    script = STUBS + ''.join(
        'source %s/settings\nsource %s/plugin.sh %s\n' % (
            DEVSTACK, DEVSTACK, phase) for phase in phases)
    done = subprocess.run(['bash', '-e', '-c', script], env=env,
                          capture_output=True, text=True, timeout=60)
    return done, conf, calls.read_text()


def read_conf(path, backend):
    conf = cfg.ConfigOpts()
    conf.register_opts([
        cfg.ListOpt('enabled_backends'),
        cfg.ListOpt('scheduler_default_filters'),
        cfg.ListOpt('scheduler_default_weighers')])
    conf.register_opts(vmdk.vmdk_opts + [cfg.StrOpt('volume_driver'),
                                         cfg.StrOpt('volume_backend_name'),
                                         cfg.StrOpt('vmware_pool_mode')],
                       group=backend)
    conf(['--config-file', str(path)], project='cinder',
         default_config_files=[], default_config_dirs=[])
    return conf


LOCAL_CONF = {
    'VMWARE_VCENTER_HOST': 'vc.example.org',
    'VMWARE_VCENTER_PASSWORD': 's3cret',
    'VMWARE_CLUSTER_NAMES': 'gold,silver',
}


@pytest.fixture
def ca_file(tmp_path):
    path = tmp_path / 'vc-ca.pem'
    path.write_text('-----BEGIN CERTIFICATE-----\n')
    return str(path)


DEVSTACK_CONF = '''[DEFAULT]
enabled_backends = lvmdriver-1
'''


def test_stack_phases_configure_backend_and_scheduler(tmp_path, ca_file):
    done, conf_file, calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack install', 'stack post-config'],
        VMWARE_CA_FILE=ca_file, **LOCAL_CONF)
    assert done.returncode == 0, done.stderr

    conf = read_conf(conf_file, 'vmware-1')
    backend = conf['vmware-1']
    assert conf.enabled_backends == ['lvmdriver-1', 'vmware-1']
    assert 'DriverFilter' in conf.scheduler_default_filters
    assert 'CapabilitiesFilter' in conf.scheduler_default_filters
    assert 'GoodnessWeigher' in conf.scheduler_default_weighers
    assert backend.volume_driver == \
        'cinder_vmware_ext.driver.VMwareVcVmdkExtDriver'
    assert backend.volume_backend_name == 'vmware-1'
    assert backend.vmware_host_ip == 'vc.example.org'
    assert backend.vmware_host_port == 443
    assert backend.vmware_host_password == 's3cret'
    assert backend.vmware_ca_file == ca_file
    assert backend.vmware_insecure is False
    assert backend.vmware_cluster_name == ['gold', 'silver']
    assert backend.vmware_pool_mode == 'cluster'
    assert 'setup_develop %s/cinder-vmware-ext' % tmp_path in calls
    assert 'pip_install pyparsing==3.3.2' in calls


def test_post_config_twice_keeps_one_backend_and_filter(tmp_path):
    done, conf_file, _calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack post-config'] * 2, **LOCAL_CONF)
    assert done.returncode == 0, done.stderr

    conf = read_conf(conf_file, 'vmware-1')
    assert conf.enabled_backends == ['lvmdriver-1', 'vmware-1']
    assert conf.scheduler_default_filters.count('DriverFilter') == 1
    assert conf['vmware-1'].vmware_cluster_name == ['gold', 'silver']


def test_no_ca_file_still_verifies_the_certificate(tmp_path):
    # Verified against the system's CA bundle: no CA file is no reason to
    # trust any certificate.
    done, conf_file, _calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack post-config'], **LOCAL_CONF)
    assert done.returncode == 0, done.stderr
    backend = read_conf(conf_file, 'vmware-1')['vmware-1']
    assert backend.vmware_insecure is False
    assert backend.vmware_ca_file is None


def test_verification_off_only_when_asked_for(tmp_path, ca_file):
    done, conf_file, _calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack post-config'],
        VMWAREAPI_INSECURE='true', **LOCAL_CONF)
    assert done.returncode == 0, done.stderr
    backend = read_conf(conf_file, 'vmware-1')['vmware-1']
    assert backend.vmware_insecure is True
    assert backend.vmware_ca_file is None

    # A later run with a CA file turns verification back on.
    done, conf_file, _calls = run_plugin(
        tmp_path, conf_file.read_text(), ['stack post-config'],
        VMWARE_CA_FILE=ca_file, **LOCAL_CONF)
    assert done.returncode == 0, done.stderr
    backend = read_conf(conf_file, 'vmware-1')['vmware-1']
    assert backend.vmware_insecure is False
    assert backend.vmware_ca_file == ca_file


def test_insecure_with_a_ca_file_is_refused(tmp_path, ca_file):
    done, _conf, _calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack post-config'],
        VMWAREAPI_INSECURE='True', VMWARE_CA_FILE=ca_file, **LOCAL_CONF)
    assert done.returncode != 0
    assert 'VMWAREAPI_INSECURE' in done.stderr and ca_file in done.stderr


def test_unreadable_ca_file_is_refused(tmp_path):
    missing = str(tmp_path / 'no-such-ca.pem')
    done, _conf, _calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack post-config'],
        VMWARE_CA_FILE=missing, **LOCAL_CONF)
    assert done.returncode != 0
    assert missing in done.stderr


def test_missing_vcenter_stops_the_stack_with_a_message(tmp_path):
    done, _conf, _calls = run_plugin(
        tmp_path, DEVSTACK_CONF, ['stack post-config'],
        VMWARE_CLUSTER_NAMES='gold')
    assert done.returncode != 0
    assert 'VMWARE_VCENTER_HOST' in done.stderr


def test_shellcheck_passes():
    done = subprocess.run(
        ['shellcheck', '-s', 'bash', 'plugin.sh', 'settings'],
        cwd=DEVSTACK, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
