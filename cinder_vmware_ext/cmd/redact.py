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
"""Secrets kept out of the CLI's output, at the logging layer.

``RedactingFilter`` on a handler rewrites every record before it is
printed or written: the secrets it was told (the vCenter password, the
session key and cookie once known, keystone passwords) are replaced
wherever they appear, and the places a SOAP trace carries a secret whose
value is not known beforehand (the key in Login's answer, ``sessionID``
arguments, session-scoped object ids, cookies) are masked by pattern.
oslo.utils' ``mask_password`` adds the usual ``password=...`` forms.
"""

import json
import logging
import re
import threading
from xml.sax import saxutils

from oslo_utils import strutils

MASK = '***'

_NS = r'(?:[\w.-]+:)?'
# (prefix group, secret, suffix group): the secret is replaced.
PATTERNS = (
    # Login's password, SessionIsActive's and TerminateSession's session
    # ids, LoginByToken's token, in any namespace prefix.
    re.compile(r'(<%s(?:password|sessionI[dD]|token)\b[^>/]*>)[^<]+(<)'
               % _NS),
    # The key of the UserSession a login answers (it is also the cookie).
    re.compile(r'(<%s(?:Login\w*|CloneSession|ImpersonateUser)Response\b'
               r'[^>]*>\s*<%sreturnval\b[^>]*>\s*<%skey>)[^<]+(<)'
               % (_NS, _NS, _NS)),
    # Session-scoped managed objects: session[KEY]uuid.
    re.compile(r'(session\[)[^\]]+(\])'),
    # vCenter's session and ticket cookies, in headers or cookie jars.
    re.compile(r'((?:vmware_soap_session|vmware_cgi_ticket)'
               r'["\']?\s*[=:]\s*["\']?)[^"\';,\s]+()'),
    # Any Cookie/Set-Cookie header value.
    re.compile(r'((?:Set-)?Cookie["\']?\s*:\s*["\']?)[^"\'\r\n]+()',
               re.IGNORECASE),
)


class Secrets(object):
    """The literal secrets of this process (thread-safe, grow-only)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values = ()

    def add(self, value):
        if not value or not isinstance(value, str):
            return
        # As written, and as it appears inside XML, JSON and Python reprs.
        forms = {value, saxutils.escape(value),
                 saxutils.escape(value, {'"': '&quot;', "'": '&apos;'}),
                 repr(value)[1:-1], json.dumps(value)[1:-1]}
        with self._lock:
            known = set(self._values) | forms
            # Longest first, so that no shorter form leaves a tail behind.
            self._values = tuple(sorted(known, key=len, reverse=True))

    def __iter__(self):
        return iter(self._values)


SECRETS = Secrets()


def add_secret(value):
    """Never print ``value`` (a password, session key or cookie)."""
    SECRETS.add(value)


def redact(text, secrets=SECRETS):
    """``text`` with every known secret and secret-bearing field masked."""
    if not text:
        return text
    for value in secrets:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in PATTERNS:
        text = pattern.sub(r'\g<1>%s\g<2>' % MASK, text)
    return strutils.mask_password(text, secret=MASK)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's message, traceback and stack."""

    _formatter = logging.Formatter()

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what is there
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(
                record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


SOAP_LOGGERS = ('suds.client', 'suds.transport')


def guard_logging(trace_soap=False):
    """Mask secrets and suds' noise in a foreign app's logging.

    Under an app that is not ``cinder-vmware`` (openstackclient's
    ``openstack vmware ...``): mask secrets on every root handler and keep
    suds' WSDL parse and envelopes out of the log unless SOAP tracing is
    asked for. Does nothing where ``cinder-vmware`` already did it.
    """
    handlers = logging.getLogger().handlers
    if any(isinstance(f, RedactingFilter) for h in handlers
           for f in h.filters):
        return
    for handler in handlers:
        handler.addFilter(RedactingFilter())
    logging.getLogger('suds').setLevel(logging.WARNING)
    for name in SOAP_LOGGERS:
        logging.getLogger(name).setLevel(
            logging.DEBUG if trace_soap else logging.NOTSET)
