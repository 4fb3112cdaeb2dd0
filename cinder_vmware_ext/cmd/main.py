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
"""``cinder-vmware``: this project's operator commands (cliff, as
openstackclient is built), e.g. ``cinder-vmware takeover discover``.

The same commands are ``openstack vmware ...`` through the openstackclient
plugin (cmd/osc_plugin.py).
"""

import logging
import sys
import warnings

# Command modules import cinder, whose import makes eventlet print a
# deprecation notice on stderr before logging is set up: not for users.
warnings.filterwarnings('ignore', message=r'(?s).*Eventlet is deprecated')

from cliff import app
from cliff import commandmanager

import cinder_vmware_ext
from cinder_vmware_ext.cmd import app_options
from cinder_vmware_ext.cmd import audit
from cinder_vmware_ext.cmd import cluster
from cinder_vmware_ext.cmd import datastore
from cinder_vmware_ext.cmd import disk
from cinder_vmware_ext.cmd import evacuate
from cinder_vmware_ext.cmd import redact
from cinder_vmware_ext.cmd import snapshot
from cinder_vmware_ext.cmd import takeover

NAMESPACE = 'cinder_vmware.cli'
# The top-level help's description: plain text (no RST markup).
DESCRIPTION = ('Operator commands of the Cinder VMware driver '
               '(cinder-vmware-ext), e.g. "cinder-vmware takeover discover"; '
               'also "openstack vmware ..." in openstackclient.')
# Loggers of this tool: warnings and errors always, INFO with -v, DEBUG
# with -vv; also the app's logger (cliff's App.LOG), which reports a
# command's error.
OWN_LOGGERS = ('cinder_vmware_ext',)
OWN_LEVELS = {0: logging.WARNING, 1: logging.WARNING, 2: logging.INFO}
# Libraries (every other logger, warnings included): nothing by default,
# their warnings with -v, INFO with -vv, DEBUG with -vvv or --debug.
LIBRARY_LEVELS = {0: logging.CRITICAL + 1, 1: logging.CRITICAL + 1,
                  2: logging.WARNING, 3: logging.INFO}
# suds' SOAP traces (the Login request holds the password): only with
# --trace-soap, redacted like everything else.
SOAP_LOGGERS = redact.SOAP_LOGGERS


class VerbosityFilter(logging.Filter):
    """What -v/-vv/-vvv/--debug and --trace-soap let through."""

    def __init__(self, verbose, trace_soap, app_logger):
        super(VerbosityFilter, self).__init__()
        self._own_loggers = OWN_LOGGERS + (app_logger,)
        self._own = OWN_LEVELS.get(verbose, logging.DEBUG)
        self._library = LIBRARY_LEVELS.get(verbose, logging.DEBUG)
        self._soap = trace_soap

    def filter(self, record):
        name = record.name
        if self._soap and name.startswith(SOAP_LOGGERS):
            return True
        own = name.startswith(self._own_loggers)
        return record.levelno >= (self._own if own else self._library)


class ConsoleFormatter(logging.Formatter):
    """One line per record, tracebacks only with --debug."""

    def __init__(self, fmt, tracebacks):
        super(ConsoleFormatter, self).__init__(fmt)
        self._tracebacks = tracebacks

    def format(self, record):
        if self._tracebacks:
            return super(ConsoleFormatter, self).format(record)
        record = logging.makeLogRecord(record.__dict__)
        record.exc_info = record.exc_text = record.stack_info = None
        text = super(ConsoleFormatter, self).format(record)
        if record.levelno < logging.WARNING:
            return text
        return '; '.join(line.strip() for line in text.splitlines()
                         if line.strip())


class CinderVmwareApp(app.App):

    def __init__(self):
        manager = commandmanager.CommandManager(NAMESPACE)
        # Also without the package's entry points installed (a checkout).
        commands = dict(takeover.COMMANDS)
        commands.update(datastore.COMMANDS)
        commands.update(cluster.COMMANDS)
        commands.update(snapshot.COMMANDS)
        commands.update(audit.COMMANDS)
        commands.update(disk.COMMANDS)
        commands.update(evacuate.COMMANDS)
        for name, factory in commands.items():
            if name not in manager.commands:
                manager.add_command(name, factory)
        super(CinderVmwareApp, self).__init__(
            description=DESCRIPTION,
            version=getattr(cinder_vmware_ext, '__version__', '0'),
            command_manager=manager, deferred_help=True)

    def configure_logging(self):
        root = logging.getLogger()
        # oslo.log's register_options (run when cinder's config is
        # imported) adds a bare stderr handler "until logging is set up",
        # which only oslo.log's setup() removes: it would print every
        # library's DEBUG record.
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler and \
                    handler.stream is sys.stderr and \
                    handler.formatter is None and not handler.filters:
                root.removeHandler(handler)
        before = list(root.handlers)
        super(CinderVmwareApp, self).configure_logging()
        options = self.options
        verbose = 4 if options.debug else options.verbose_level
        # suds at DEBUG dumps its WSDL parse (millions of lines) and every
        # envelope: not even -vvv turns it on, only --trace-soap.
        logging.getLogger('suds').setLevel(logging.WARNING)
        for name in SOAP_LOGGERS:
            logging.getLogger(name).setLevel(
                logging.DEBUG if options.trace_soap else logging.NOTSET)
        # Python warnings (eventlet's deprecation notice on importing
        # cinder) become records of the py.warnings library logger.
        logging.captureWarnings(True)
        verbosity = VerbosityFilter(verbose, options.trace_soap,
                                    self.LOG.name)
        redacting = redact.RedactingFilter()
        # Only cliff's handlers (console, --log-file), not those of a
        # process running the app (pytest's).
        for handler in [h for h in root.handlers if h not in before]:
            # The filter decides what is shown (cliff sets the console's
            # level from -v alone).
            handler.setLevel(logging.DEBUG)
            handler.addFilter(verbosity)
            handler.addFilter(redacting)
            if getattr(handler, 'stream', None) is self.stderr:
                handler.setFormatter(ConsoleFormatter(
                    self.CONSOLE_MESSAGE_FORMAT, tracebacks=options.debug))
        redact.add_secret(getattr(options, 'os_password', None))

    def build_option_parser(self, description, version, argparse_kwargs=None):
        from keystoneauth1 import loading
        parser = super(CinderVmwareApp, self).build_option_parser(
            description, version, argparse_kwargs)
        for option in app_options.BACKEND:
            option.add_to(parser)
        app_options.OS_CLOUD.add_to(parser, with_env=True)
        app_options.OS_REGION_NAME.add_to(parser, with_env=True)
        app_options.TRACE_SOAP.add_to(parser)
        app_options.OS_VOLUME_API_VERSION.add_to(parser, with_env=True)
        loading.register_session_argparse_arguments(parser)
        loading.register_auth_argparse_arguments(parser, sys.argv[1:],
                                                 default='password')
        parser.parse_known_args = _command_options_stay(
            parser, parser.parse_known_args, COMMAND_OWNED)
        return parser


# Global options that a command also has (``datastore create nfs|vmfs
# --host HOST``): after the command's name they are the command's.
COMMAND_OWNED = ('--host',)


def _command_options_stay(parser, parse, owned):
    """Parse known arguments, leaving a command's own options to it.

    ``parse_known_args`` that leaves the ``owned`` options found after
    the command's name to the command (cliff parses the global options
    anywhere in the line).
    """
    takes_value = {opt for action in parser._actions if action.nargs != 0
                   for opt in action.option_strings}

    def parse_known_args(args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        start = 0
        while start < len(args) and args[start].startswith('-'):
            start += 2 if args[start] in takes_value else 1
        kept, moved, rest = args[:start], [], args[start:]
        while rest:
            token = rest.pop(0)
            if token in owned and rest:
                moved += [token, rest.pop(0)]
            elif token.split('=', 1)[0] in owned:
                moved.append(token)
            else:
                kept.append(token)
        options, remainder = parse(kept, namespace)
        return options, remainder + moved
    return parse_known_args


def main(argv=None):
    return CinderVmwareApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
