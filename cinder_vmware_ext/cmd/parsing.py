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
"""The commands' arguments, declared once.

A command lists its arguments as data (``arguments``, in the order
argparse adds them); the bases here turn that list into cliff's
``get_parser``.  Arguments several commands take (``--dry-run``, a
datastore's name, a disk's path, ``--volume``/``--vm``) are declared here
once; a command that says it differently derives its own with
``Arg.but``.
"""

from cliff import command
from cliff import lister
from cliff import show


class Arg(object):
    """One argument: what ``ArgumentParser.add_argument`` takes."""

    def __init__(self, *names, **options):
        self.names = names
        self.options = options

    def but(self, **options):
        """The same argument with some of its options changed."""
        return Arg(*self.names, **dict(self.options, **options))

    def add_to(self, parser):
        parser.add_argument(*self.names, **self.options)


class OneOf(object):
    """Arguments of which one at most (``required``: exactly one) is given."""

    def __init__(self, *members, **options):
        self.members = members
        self.required = options.pop('required', False)
        if options:
            raise TypeError('OneOf takes only required=, not %s'
                            % ', '.join(sorted(options)))

    def add_to(self, parser):
        group = parser.add_mutually_exclusive_group(required=self.required)
        for member in self.members:
            member.add_to(group)


class _Declared(object):
    """A cliff command whose parser takes its ``arguments``, in order."""

    arguments = ()

    def get_parser(self, prog_name):
        parser = super(_Declared, self).get_parser(prog_name)
        for argument in self.arguments:
            argument.add_to(parser)
        return parser


class Command(_Declared, command.Command):
    """cliff's Command, with declared arguments."""


class Lister(_Declared, lister.Lister):
    """cliff's Lister (a table), with declared arguments."""


class ShowOne(_Declared, show.ShowOne):
    """cliff's ShowOne (one record), with declared arguments."""


def flag(name, help):
    """An option that is off unless given (``store_true``)."""
    return Arg(name, action='store_true', help=help)


def concurrency(default, what):
    """``--concurrency N``: how many WHAT are worked on at once."""
    return Arg('--concurrency', type=int, default=default, metavar='N',
               help='%s at once (default %d)' % (what, default))


DRY_RUN = flag('--dry-run', 'say what would be done; change nothing')
DATASTORE = Arg('name', metavar='NAME', help="the datastore's name")
DISK = Arg('path', metavar='PATH', help='the disk, "[ds] folder/name.vmdk"')
VM = OneOf(Arg('--volume', metavar='VOLUME_ID',
               help='the VM backing this Cinder volume'),
           Arg('--vm', metavar='VM', help='a VM by name'),
           required=True)
