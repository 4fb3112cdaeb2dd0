"""``cinder-vmware``: this project's operator commands (cliff, as
openstackclient is built), e.g. ``cinder-vmware takeover discover``."""

import sys

from cliff import app
from cliff import commandmanager

import cinder_vmware_ext
from cinder_vmware_ext.cmd import takeover

NAMESPACE = 'cinder_vmware.cli'


class CinderVmwareApp(app.App):

    def __init__(self):
        manager = commandmanager.CommandManager(NAMESPACE)
        # Also without the package's entry points installed (a checkout).
        for name, factory in takeover.COMMANDS.items():
            if name not in manager.commands:
                manager.add_command(name, factory)
        super(CinderVmwareApp, self).__init__(
            description=__doc__.split('\n\n')[0].replace('\n', ' '),
            version=getattr(cinder_vmware_ext, '__version__', '0'),
            command_manager=manager, deferred_help=True)

    def build_option_parser(self, description, version, argparse_kwargs=None):
        from keystoneauth1 import loading
        parser = super(CinderVmwareApp, self).build_option_parser(
            description, version, argparse_kwargs)
        parser.add_argument(
            '--config-file', action='append', default=[],
            help='cinder.conf holding the backend section (repeatable; '
                 'default /etc/cinder/cinder.conf).')
        parser.add_argument(
            '--backend', help='the backend section of the VMware driver '
                              '(default: the only enabled_backends entry).')
        parser.add_argument(
            '--host', help="cinder-volume's host name, for host@backend#pool"
                           ' (default: [DEFAULT] host, else this machine).')
        parser.add_argument(
            '--os-cloud', default=None,
            help='a cloud of clouds.yaml (default: env OS_CLOUD).')
        parser.add_argument('--os-volume-api-version', default='3.8')
        loading.register_session_argparse_arguments(parser)
        loading.register_auth_argparse_arguments(parser, sys.argv[1:],
                                                 default='password')
        return parser


def main(argv=None):
    return CinderVmwareApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
