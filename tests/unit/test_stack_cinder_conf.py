"""The test stack's and demo's cinder.conf holds the vCenter password: it
is written readable by its owner only."""

import os
import stat
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools', 'stack'))

import cinder_conf  # noqa: E402

VCENTER = {'host': '127.0.0.1', 'port': 8989, 'username': 'admin',
           'password': 'stack-s3cret', 'ca_file': '/tmp/ca.pem'}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_conf_is_0600_whatever_the_umask(tmp_path):
    path = str(tmp_path / 'cinder.conf')
    old = os.umask(0)
    try:
        cinder_conf.write(path, '[vmware]\nvmware_host_password = x\n')
    finally:
        os.umask(old)
    assert mode(path) == 0o600


def test_rewritten_conf_is_narrowed_to_0600(tmp_path):
    path = tmp_path / 'cinder.conf'
    path.write_text('old\n')
    os.chmod(path, 0o644)
    text = ''.join('%s = %s\n' % item for item in
                   cinder_conf.backend_section(VCENTER, ['gold']))
    cinder_conf.write(str(path), text)
    assert mode(path) == 0o600
    assert path.read_text() == text
    assert 'vmware_host_password = stack-s3cret' in text
